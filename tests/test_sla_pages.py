"""The SLA panel and the staff inbox pages: forms with CSRF, roles, both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from string import Formatter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from civicdesk.web.staff.sla_texts import SLA_TEXTS
from routing.models import Organization
from sla.models import AppealPause, ExtensionRequest, ExtensionState
from tests.conftest import hidden_field, staff_sign_in

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


def _sign_in(client: Any, user: Any, password: str) -> None:
    staff_sign_in(client, user, password, next_path="/staff/appeals")


def test_every_sla_text_exists_in_russian_and_kazakh() -> None:
    names = Formatter()
    for key, entry in SLA_TEXTS.items():
        assert set(entry) == {"ru", "kk"}, key
        fields = [{f for _, f, _, _ in names.parse(entry[lang]) if f} for lang in ("ru", "kk")]
        assert fields[0] == fields[1], key


def test_pause_request_and_decide_through_the_pages(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    appeal: Appeal = submit_appeal(WATER)
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    executor, password = make_user("executor", org.code)
    inspector, _ = make_user("inspector")
    stranger, _ = make_user(
        "executor",
        session.scalar(select(Organization.code).where(Organization.id != org.id).limit(1)),
    )
    panel = f"/staff/appeals/{appeal.id}/sla"

    _sign_in(client, stranger, password)
    assert client.get(panel).status_code == 404

    _sign_in(client, executor, password)
    page = client.get(panel)
    assert page.status_code == 200
    assert "Приостановить срок" in page.text and appeal.tracking_number in page.text
    csrf = hidden_field(page.text, "csrf")
    refused = client.post(f"{panel}/pause", data={"reason_code": "citizen_clarification"})
    assert refused.status_code == 403
    paused = client.post(
        f"{panel}/pause",
        data={"csrf": csrf, "reason_code": "citizen_clarification", "comment": "уточнить дом"},
        follow_redirects=False,
    )
    assert paused.status_code == 303
    shown = client.get(paused.headers["location"], params={"lang": "kk"})
    assert "Мерзімді жалғастыру" in shown.text  # the resume button, in Kazakh
    assert client.post(f"{panel}/resume", data={"csrf": csrf}).status_code == 200
    pause = session.scalar(select(AppealPause).where(AppealPause.appeal_id == appeal.id))
    assert pause is not None and pause.ended_at is not None

    # The extension form needs an accepted appeal; a too-late date is refused, nothing kept.
    client.post(f"/staff/appeals/{appeal.id}/actions/accept", data={"csrf": csrf})
    too_late = client.post(
        f"{panel}/request_extension",
        data={"csrf": csrf, "until": "2099-01-01", "comment": "экспертиза"},
    )
    assert too_late.status_code == 422 and "extension_too_long" in too_late.text
    assert appeal.due_at is not None
    until = appeal.due_at.date().replace(day=1)
    until = until.replace(month=until.month % 12 + 1, year=until.year + (until.month == 12))
    asked = client.post(
        f"{panel}/request_extension",
        data={"csrf": csrf, "until": until.isoformat(), "comment": "экспертиза"},
    )
    assert asked.status_code == 200, asked.text
    request = session.scalar(
        select(ExtensionRequest).where(ExtensionRequest.appeal_id == appeal.id)
    )
    assert request is not None
    # No approve button for the executor, and a forged post is refused.
    assert "/sla/approve" not in asked.text
    forged = client.post(f"{panel}/approve", data={"csrf": csrf, "request_id": str(request.id)})
    assert forged.status_code == 403

    _sign_in(client, inspector, password)
    inbox = client.get("/staff/inbox")
    assert inbox.status_code == 200 and appeal.tracking_number in inbox.text
    page = client.get(panel)
    assert "/sla/approve" in page.text
    approved = client.post(
        f"{panel}/approve",
        data={"csrf": hidden_field(page.text, "csrf"), "request_id": str(request.id)},
    )
    assert approved.status_code == 200
    session.refresh(request)
    session.refresh(appeal)
    assert request.state is ExtensionState.APPROVED and appeal.status is Status.EXTENDED
    note_id = re.search(r'action="/staff/inbox/(\d+)/read"', inbox.text)
    assert note_id is not None
    read = client.post(
        f"/staff/inbox/{note_id.group(1)}/read",
        data={"csrf": hidden_field(inbox.text, "csrf")},
        follow_redirects=False,
    )
    assert read.status_code == 303
    before = int(re.search(r"Непрочитанных: (\d+)", inbox.text).group(1))  # type: ignore[union-attr]  # the page shows it
    assert f"Непрочитанных: {before - 1}" in client.get("/staff/inbox").text


def test_the_appeal_page_reviews_through_the_checklist_and_shows_the_clock(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    """The appeal page has no plain close / return / extend forms any more: an inspector
    gets the review (accept, or return with a checklist reason, which counts), an executor a
    link to the extension request; a forged post to the old path changes nothing. Pause and
    resume are rows in the page's history."""
    from sla.models import AnswerReview

    appeal: Appeal = submit_appeal(WATER)
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    executor, password = make_user("executor", org.code)
    inspector, _ = make_user("inspector")
    page_path = f"/staff/appeals/{appeal.id}"
    panel = f"{page_path}/sla"

    _sign_in(client, executor, password)
    page = client.get(page_path)
    csrf = hidden_field(page.text, "csrf")
    client.post(f"{page_path}/actions/accept", data={"csrf": csrf})
    page = client.get(page_path)
    assert f'href="{panel}#h-extensions"' in page.text and "/actions/extend" not in page.text
    client.post(f"{panel}/pause", data={"csrf": csrf, "reason_code": "citizen_clarification"})
    client.post(f"{panel}/resume", data={"csrf": csrf})
    page = client.get(page_path)
    assert "Срок приостановлен" in page.text and "Срок возобновлён" in page.text
    client.post(
        f"{page_path}/actions/answer",
        data={"csrf": csrf, "text": "Бригада устранила течь, асфальт восстановлен."},
    )

    _sign_in(client, inspector, password)
    page = client.get(page_path)
    assert page.status_code == 200
    assert f'action="{panel}/accept"' in page.text and f'action="{panel}/return"' in page.text
    assert 'value="formal_reply"' in page.text  # the checklist
    assert "/actions/close" not in page.text and "/actions/return" not in page.text
    csrf = hidden_field(page.text, "csrf")
    forged = client.post(f"{page_path}/actions/close", data={"csrf": csrf})
    assert forged.status_code == 422
    session.refresh(appeal)
    assert appeal.status is Status.ANSWERED
    returned = client.post(
        f"{panel}/return",
        data={"csrf": csrf, "reason_code": "formal_reply", "comment": "нет даты работ"},
        follow_redirects=False,
    )
    assert returned.status_code == 303
    session.refresh(appeal)
    assert (appeal.status, appeal.returns_count) == (Status.RETURNED, 1)
    review = session.scalar(select(AnswerReview).where(AnswerReview.appeal_id == appeal.id))
    assert review is not None and review.reason_code is not None
    assert review.reason_code.value == "formal_reply"


def test_an_overdue_clock_offers_no_pause(
    client: Any, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    from core.clock import now

    appeal: Appeal = submit_appeal(WATER)
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    appeal.due_at = now() - timedelta(hours=1)  # an appeal already late
    session.commit()
    executor, password = make_user("executor", org.code)
    _sign_in(client, executor, password)
    page = client.get(f"/staff/appeals/{appeal.id}/sla")
    assert 'id="pause-refused"' in page.text
    assert "/sla/pause" not in page.text
    refused = client.post(
        f"/staff/appeals/{appeal.id}/sla/pause",
        data={"csrf": hidden_field(page.text, "csrf"), "reason_code": "other", "comment": "x"},
    )
    assert refused.status_code == 409 and "clock_overdue" in refused.text
    session.refresh(appeal)
    assert appeal.paused_at is None
