"""Anonymous appeals are said to be anonymous before they are sent (issue 14, item 7).

The web form without a phone or an e-mail comes back unsent, explains the rule (АППК: not
considered, except reports of crimes and threats to security) and asks for a contact;
ticking "send without contacts" sends it. A rejected appeal's status page says why in the
citizen's language and promises no answer.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal
from core.models import Role

pytestmark = pytest.mark.postgres

TEXT = "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены"


def _post(client: TestClient, language: str, **fields: str) -> Any:
    data = {"text": TEXT, "idempotency_key": str(uuid.uuid4()), "lang": language, **fields}
    return client.post("/appeals", data=data, follow_redirects=False)


@pytest.mark.parametrize(
    ("language", "heading", "rule"),
    [
        ("ru", "Обращение ещё не отправлено", "не рассматривается (АППК РК)"),
        ("kk", "Өтініш әлі жіберілген жоқ", "қаралмайды (ҚР"),
    ],
)
def test_a_form_without_contacts_warns_before_sending(
    client: TestClient, session: Session, language: str, heading: str, rule: str
) -> None:
    before = session.scalar(select(func.count()).select_from(Appeal))
    warned = _post(client, language, full_name="Асель")
    assert warned.status_code == 200
    assert 'id="anonymous-check"' in warned.text and heading in warned.text
    assert rule in warned.text and 'name="anonymous_ok"' in warned.text
    assert TEXT in warned.text  # what was typed is kept
    assert session.scalar(select(func.count()).select_from(Appeal)) == before
    sent = _post(client, language, anonymous_ok="1")
    assert sent.status_code == 303
    assert session.scalar(select(func.count()).select_from(Appeal)) == before + 1
    with_phone = _post(client, language, phone="+7 701 555 01 88")
    assert with_phone.status_code == 303  # a contact: no question asked


@pytest.mark.parametrize(
    ("language", "why", "no_answer"),
    [
        ("ru", "Обращение анонимное", "Ответа по нему не будет."),
        ("kk", "Өтініш жасырын", "Бұл өтініш бойынша жауап болмайды."),
    ],
)
def test_a_rejected_anonymous_appeal_says_why_in_the_citizens_language(
    client: TestClient, session: Session, language: str, why: str, no_answer: str
) -> None:
    sent = _post(client, language, anonymous_ok="1")
    number = re.search(r"/appeals/([0-9A-Z-]+)\?", sent.headers["location"])
    assert number
    appeal = session.scalar(select(Appeal).where(Appeal.tracking_number == number[1]))
    assert appeal is not None and appeal.status is Status.REJECTED
    page = client.get(f"/appeals/{number[1]}", params={"lang": language}).text
    assert 'id="rejected"' in page and why in page and no_answer in page
    # No promise of an answer, no deadline.
    assert "Ответ появится здесь" not in page and "пайда болады" not in page
    assert 'id="answer-heading"' not in page


def test_each_rejection_reason_reads_on_the_status_page(
    client: TestClient, session: Session, submit_appeal: Any, make_user: Any
) -> None:
    admin, _ = make_user(Role.ADMIN)
    expected = {
        "spam": "реклама или рассылка",
        "no_substance": "не удалось понять",
        "duplicate": "Ответ придёт по первому обращению",
        "abusive": "оскорбительные выражения",
    }
    for index, (code, words) in enumerate(expected.items()):
        appeal = submit_appeal(TEXT + f" ({index})", external_id=f"rej-{index}")
        actions.reject(session, appeal, user=admin, reason_code=code, note=None)
        session.commit()
        page = client.get(f"/appeals/{appeal.tracking_number}", params={"lang": "ru"}).text
        assert "Обращение оставлено без рассмотрения" in page and words in page, code
