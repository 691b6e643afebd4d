"""The inspectors' SLA board: buckets at the Almaty day boundary and over days off, filters,
executor scoping, the review queue, the CSV without personal data, the API's roles, and 4xx
on bad filters."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from string import Formatter
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel, Citizen
from civicdesk.web.board.texts import BOARD_TEXTS
from core.clock import ALMATY, frozen
from core.db import table_of
from core.models import Role, StaffUser
from routing.service import organization_by_code
from sla import board, board_csv
from sla.board import BoardFilters, Bucket, GroupBy
from tests.conftest import login
from tests.test_web_pages import _sign_in

SU, MEDEU, HEAT = "almaty-su", "akimat-medeu", "almaty-heat-networks"
PHONE, NAME = "+77017654321", "Жанар Сериковна Ахметова"
SECRET_TEXT = "У Жанар Сериковны на Самал-2 дом 58 кв 14 третий день нет воды"
# Tuesday 10 March 2026, 23:30 in Almaty (18:30 UTC): half an hour before midnight.
LATE_EVENING = datetime(2026, 3, 10, 23, 30, tzinfo=ALMATY)
# Friday 6 March 2026, noon: Sat 7, Sun 8 and Mon 9 (8 March observed) are days off.
FRIDAY_NOON = datetime(2026, 3, 6, 12, 0, tzinfo=ALMATY)
RECEIVED = datetime(2026, 3, 2, 10, 0, tzinfo=ALMATY)


def almaty(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ALMATY)


@pytest.fixture
def make_appeal(session: Session) -> Callable[..., int]:
    """An appeal row exactly as the board must see it (status, deadline, organization …).

    Written with one INSERT: the board reads rows, and the lifecycle's own tests cover how
    an appeal gets into each status. Every appeal carries a citizen with a name and a phone
    and a text with personal details, so an export that leaked them would be caught.
    """
    citizen_id = session.scalar(
        insert(table_of(Citizen))
        .values(phone_e164=PHONE, full_name=NAME, preferred_language="ru", created_at=LATE_EVENING)
        .returning(table_of(Citizen).c.id)
    )

    def make(
        *,
        organization: str | None = SU,
        due_at: datetime | None,
        status: Status = Status.IN_PROGRESS,
        district: str | None = "medeu",
        category: str | None = "water.water_quality",
        channel: Channel = Channel.PHONE,
        received_at: datetime = RECEIVED,
        target_due_at: datetime | None = None,
        paused_at: datetime | None = None,
        answered_at: datetime | None = None,
    ) -> int:
        organization_id = organization_by_code(session, organization).id if organization else None
        appeal_id = session.scalar(
            insert(table_of(Appeal))
            .values(
                tracking_number=f"AL-{uuid.uuid4().hex[:8].upper()}",
                channel=channel,
                external_id=uuid.uuid4().hex,
                citizen_id=citizen_id,
                text=SECRET_TEXT,
                appeal_type="complaint",
                category_code=category,
                district_code=district,
                address="Самал-2, дом 58, кв. 14",
                urgency="normal",
                organization_id=organization_id,
                status=status,
                received_at=received_at,
                due_at=due_at,
                target_due_at=target_due_at,
                paused_at=paused_at,
                answered_at=answered_at,
                anonymous=False,
                is_repeat=False,
                updated_at=received_at,
            )
            .returning(table_of(Appeal).c.id)
        )
        assert appeal_id is not None
        return int(appeal_id)

    return make


@pytest.fixture
def inspector(make_user: Callable[..., tuple[StaffUser, str]]) -> StaffUser:
    return make_user(Role.INSPECTOR)[0]


@pytest.fixture(autouse=True)
def fresh_summaries() -> Iterator[None]:
    """The page shares a view's summary for a few seconds: each test starts without any."""
    from civicdesk.web.board.pages import clear_summary_cache

    clear_summary_cache()
    yield
    clear_summary_cache()


@pytest.fixture
def clock_at_late_evening() -> Iterator[None]:
    with frozen(LATE_EVENING):
        yield


def _row(summary: board.Summary, key: str | None) -> dict[str, int]:
    for row in summary.rows:
        if row.key == key:
            return row.counts.as_dict()
    raise AssertionError(f"no row {key!r} on the board: {[row.key for row in summary.rows]}")


def test_categories_and_districts_used_here_exist(session: Session) -> None:
    from routing.models import Category, District

    assert session.get(Category, "water.water_quality") is not None
    assert session.get(District, "medeu") is not None
    assert session.get(District, "almaly") is not None


# --- buckets ---------------------------------------------------------------------------------


def test_buckets_are_cut_at_midnight_in_almaty_not_in_utc(
    session: Session, make_appeal: Callable[..., int], inspector: StaffUser
) -> None:
    with frozen(LATE_EVENING):
        make_appeal(due_at=almaty(10, 23, 0))  # half an hour ago: overdue
        make_appeal(due_at=almaty(10, 23, 50))  # later tonight: due today
        # 00:10 tomorrow in Almaty is still 10 March in UTC (19:10): not "today" here.
        make_appeal(due_at=almaty(11, 0, 10))
        make_appeal(due_at=almaty(20, 18))  # in eight working days: on time
        make_appeal(due_at=almaty(1, 18), paused_at=almaty(1, 9))  # clock stopped: paused
        make_appeal(due_at=almaty(1, 18), status=Status.CLOSED)  # finished: not on the board
        make_appeal(due_at=None, status=Status.RECEIVED)  # no deadline yet: not counted
        make_appeal(due_at=almaty(9, 18), status=Status.ANSWERED, answered_at=almaty(9, 12))
        session.commit()
        result = board.summary(session, user=inspector, filters=BoardFilters())
    assert _row(result, SU) == {
        "overdue": 1,
        "due_today": 1,
        "at_risk": 1,
        "on_time": 1,
        "paused": 1,
        "total": 5,
    }
    assert result.review_queue == 1
    assert result.boundaries.tomorrow == almaty(11, 0)
    assert result.totals.total == 5
    # The one without a deadline is in no bucket, but the board says it is there.
    assert result.no_deadline == 1


def test_at_risk_counts_working_days_and_the_internal_target(
    session: Session, make_appeal: Callable[..., int], inspector: StaffUser
) -> None:
    """On a Friday before a long weekend (8 March observed on Monday), "two working days"
    reach Wednesday: an appeal due then is at risk, one due on Thursday is not."""
    with frozen(FRIDAY_NOON):
        wednesday = make_appeal(due_at=almaty(11, 15))
        thursday = make_appeal(due_at=almaty(12, 10))
        target_missed = make_appeal(due_at=almaty(25, 18), target_due_at=almaty(6, 9))
        target_ahead = make_appeal(due_at=almaty(25, 18), target_due_at=almaty(16, 18))
        session.commit()
        result = board.summary(session, user=inspector, filters=BoardFilters())
        listed = {
            bucket: {
                appeal.id
                for appeal in board.list_appeals(
                    session, user=inspector, filters=BoardFilters(), bucket=bucket
                )[0]
            }
            for bucket in Bucket
        }
    assert result.boundaries.risk_until == almaty(12, 0)
    assert _row(result, SU)["at_risk"] == 2
    assert _row(result, SU)["on_time"] == 2
    assert listed[Bucket.AT_RISK] == {wednesday, target_missed}
    assert listed[Bucket.ON_TIME] == {thursday, target_ahead}
    assert listed[Bucket.OVERDUE] == listed[Bucket.DUE_TODAY] == set()


def test_risk_horizon_follows_the_setting(
    session: Session, make_appeal: Callable[..., int], inspector: StaffUser, settings: Any
) -> None:
    from core.settings import override_settings

    with (
        frozen(FRIDAY_NOON),
        override_settings(settings.model_copy(update={"sla_board_risk_working_days": 3})),
    ):
        make_appeal(due_at=almaty(12, 10))
        session.commit()
        result = board.summary(session, user=inspector, filters=BoardFilters())
    assert result.boundaries.risk_until == almaty(13, 0)
    assert _row(result, SU)["at_risk"] == 1


def test_each_listed_appeal_carries_the_bucket_it_was_counted_in(
    session: Session, make_appeal: Callable[..., int], inspector: StaffUser
) -> None:
    with frozen(LATE_EVENING):
        for due in (almaty(10, 23), almaty(10, 23, 45), almaty(11, 12), almaty(27, 18)):
            make_appeal(due_at=due)
        session.commit()
        appeals, total = board.list_appeals(session, user=inspector, filters=BoardFilters())
    assert total == 4
    assert [appeal.bucket for appeal in appeals] == [
        Bucket.OVERDUE,
        Bucket.DUE_TODAY,
        Bucket.AT_RISK,
        Bucket.ON_TIME,
    ]
    assert appeals == sorted(appeals, key=lambda appeal: appeal.due_at or LATE_EVENING)


# --- filters and grouping ------------------------------------------------------------------


def test_filters_narrow_the_counts(
    session: Session,
    make_appeal: Callable[..., int],
    inspector: StaffUser,
    clock_at_late_evening: None,
) -> None:
    overdue = almaty(9, 18)
    make_appeal(due_at=overdue, district="medeu", channel=Channel.PHONE)
    make_appeal(due_at=overdue, district="almaly", channel=Channel.SOCIAL)
    make_appeal(
        due_at=overdue, district="almaly", category="roads.local_repair", organization=MEDEU
    )
    # Received 00:30 on 1 March in Almaty, which is still 28 February in UTC.
    make_appeal(due_at=overdue, received_at=almaty(1, 0, 30))
    make_appeal(due_at=overdue, received_at=almaty(28, 23, 30, month=2))
    session.commit()

    def overdue_with(**raw: str) -> int:
        filters = board.parse_filters(session, **raw)
        return board.summary(session, user=inspector, filters=filters).totals.overdue

    assert overdue_with() == 5
    assert overdue_with(district="almaly") == 2
    assert overdue_with(channel="social") == 1
    assert overdue_with(category="roads.local_repair") == 1
    assert overdue_with(organization=MEDEU) == 1
    assert overdue_with(received_from="2026-03-01", received_to="2026-03-01") == 1
    assert overdue_with(received_to="2026-02-28") == 1
    assert overdue_with(received_from="2026-03-01") == 4
    # As people in Almaty write dates (the page's fields): the same days.
    assert overdue_with(received_from="01.03.2026", received_to="01.03.2026") == 1
    assert overdue_with(received_to="28.02.2026") == 1
    for bad in ("10/03/2026", "1.3.2026", "2026-3-1", "yesterday"):
        with pytest.raises(board.ValidationFailed):
            board.parse_filters(session, received_from=bad)


def test_grouping_by_district_and_sorting_by_overdue(
    session: Session,
    make_appeal: Callable[..., int],
    inspector: StaffUser,
    clock_at_late_evening: None,
) -> None:
    make_appeal(due_at=almaty(27, 18), district="medeu")
    make_appeal(due_at=almaty(27, 18), district="medeu")
    make_appeal(due_at=almaty(27, 18), district="medeu", organization=HEAT)
    make_appeal(due_at=almaty(9, 18), district="almaly")
    make_appeal(due_at=almaty(8, 18), district="almaly", organization=MEDEU)
    make_appeal(due_at=almaty(7, 18), district="almaly", organization=MEDEU)
    make_appeal(due_at=almaty(9, 18), district=None, organization=None, status=Status.REGISTERED)
    session.commit()
    by_district = board.summary(
        session, user=inspector, filters=BoardFilters(), group_by=GroupBy.DISTRICT
    )
    # Most overdue first; an equal count falls back to the total, then to the name.
    assert [(row.key, row.counts.overdue) for row in by_district.rows] == [
        ("almaly", 3),
        (None, 1),
        ("medeu", 0),
    ]
    assert _row(by_district, "medeu")["on_time"] == 3
    by_organization = board.summary(
        session, user=inspector, filters=BoardFilters(), unassigned_label="Не назначено"
    )
    assert [(row.key, row.counts.overdue, row.counts.total) for row in by_organization.rows] == [
        (MEDEU, 2, 2),
        (SU, 1, 3),
        (None, 1, 1),
        (HEAT, 0, 1),
    ]
    unassigned = next(row for row in by_organization.rows if row.key is None)
    assert unassigned.name == "Не назначено"
    by_total = board.summary(
        session, user=inspector, filters=BoardFilters(), sort=board.SortBy.TOTAL
    )
    assert [row.key for row in by_total.rows][:2] == [SU, MEDEU]


def test_bad_filters_are_refused_with_a_reason(session: Session) -> None:
    cases = {
        "unknown_organization": {"organization": "no-such-org"},
        "unknown_district": {"district": "atlantis"},
        "unknown_category": {"category": "nope"},
        "unknown_channel": {"channel": "pigeon"},
        "bad_date": {"received_from": "31.02.2026"},
        "bad_date_range": {"received_from": "2026-03-10", "received_to": "2026-03-01"},
    }
    for code, raw in cases.items():
        with pytest.raises(board.ValidationFailed) as caught:
            board.parse_filters(session, **raw)
        assert caught.value.code == code


# --- who sees what ---------------------------------------------------------------------------


def test_executor_sees_only_their_organization(
    session: Session,
    make_appeal: Callable[..., int],
    make_user: Callable[..., tuple[StaffUser, str]],
    clock_at_late_evening: None,
) -> None:
    mine = make_appeal(due_at=almaty(9, 18), organization=SU)
    make_appeal(due_at=almaty(9, 18), organization=MEDEU)
    make_appeal(due_at=almaty(9, 18), organization=MEDEU, status=Status.ANSWERED)
    session.commit()
    executor, _ = make_user(Role.EXECUTOR, SU)
    result = board.summary(session, user=executor, filters=BoardFilters())
    assert [row.key for row in result.rows] == [SU]
    assert result.review_queue == 0
    appeals, total = board.list_appeals(session, user=executor, filters=BoardFilters())
    assert (total, [appeal.id for appeal in appeals]) == (1, [mine])
    other = organization_by_code(session, MEDEU).id
    with pytest.raises(board.PermissionDenied):
        board.summary(session, user=executor, filters=BoardFilters(organization_id=other))
    with pytest.raises(board.PermissionDenied):
        board_csv.export_csv(session, user=executor, filters=BoardFilters(organization_id=other))


def test_operators_do_not_get_the_board(
    session: Session, make_user: Callable[..., tuple[StaffUser, str]]
) -> None:
    operator, _ = make_user(Role.OPERATOR)
    with pytest.raises(board.PermissionDenied):
        board.summary(session, user=operator, filters=BoardFilters())


def test_api_answers_by_role(
    client: Any,
    session: Session,
    make_appeal: Callable[..., int],
    make_user: Callable[..., tuple[StaffUser, str]],
    clock_at_late_evening: None,
) -> None:
    make_appeal(due_at=almaty(9, 18), organization=SU)
    make_appeal(due_at=almaty(27, 18), organization=MEDEU)
    session.commit()
    assert client.get("/api/v1/sla-board/summary").status_code == 401
    operator, _ = make_user(Role.OPERATOR)
    refused = client.get("/api/v1/sla-board/summary", headers=login(client, operator.username))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_not_allowed"

    analyst, _ = make_user(Role.ANALYST)
    headers = login(client, analyst.username)
    answer = client.get("/api/v1/sla-board/summary", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = {row["key"]: row["counts"] for row in body["rows"]}
    assert rows[SU]["overdue"] == 1
    assert rows[MEDEU]["on_time"] == 1
    assert body["totals"]["total"] == 2
    listed = client.get("/api/v1/sla-board/appeals", params={"bucket": "overdue"}, headers=headers)
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "1"
    assert listed.json()[0]["organization_code"] == SU
    assert "text" not in listed.json()[0] and "citizen_name" not in listed.json()[0]

    executor, _ = make_user(Role.EXECUTOR, MEDEU)
    own = login(client, executor.username)
    mine = client.get("/api/v1/sla-board/summary", headers=own).json()
    assert [row["key"] for row in mine["rows"]] == [MEDEU]
    other = client.get("/api/v1/sla-board/summary", params={"organization": SU}, headers=own)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "other_organization"


def test_api_bad_filters_are_422(client: Any, inspector: StaffUser) -> None:
    headers = login(client, inspector.username)
    for params, code in (
        ({"organization": "no-such-org"}, "unknown_organization"),
        ({"received_from": "2026-13-01"}, "bad_date"),
        ({"received_from": "2026-03-10", "received_to": "2026-03-01"}, "bad_date_range"),
        ({"channel": "pigeon"}, "unknown_channel"),
    ):
        answer = client.get("/api/v1/sla-board/summary", params=params, headers=headers)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"]["code"] == code
    for path, params in (
        ("/api/v1/sla-board/appeals", {"bucket": "someday"}),
        ("/api/v1/sla-board/summary", {"group_by": "street"}),
        ("/api/v1/sla-board/appeals", {"limit": "0"}),
    ):
        assert client.get(path, params=params, headers=headers).status_code == 422


# --- the review queue ------------------------------------------------------------------------


def test_review_queue_is_answers_awaiting_review_oldest_first(
    client: Any,
    session: Session,
    make_appeal: Callable[..., int],
    inspector: StaffUser,
    clock_at_late_evening: None,
) -> None:
    newer = make_appeal(due_at=almaty(20, 18), status=Status.ANSWERED, answered_at=almaty(10, 9))
    older = make_appeal(due_at=almaty(5, 18), status=Status.ANSWERED, answered_at=almaty(6, 9))
    make_appeal(due_at=almaty(20, 18), status=Status.CLOSED, answered_at=almaty(3, 9))
    session.commit()
    appeals, total = board.review_queue(session, user=inspector, filters=BoardFilters())
    assert total == 2
    assert [appeal.id for appeal in appeals] == [older, newer]
    headers = login(client, inspector.username)
    api = client.get("/api/v1/sla-board/review-queue", headers=headers)
    assert [row["id"] for row in api.json()] == [older, newer]


# --- CSV -------------------------------------------------------------------------------------


def _csv_rows(body: str) -> list[dict[str, str]]:
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_csv_export_has_the_list_and_no_personal_data(
    client: Any,
    session: Session,
    make_appeal: Callable[..., int],
    make_user: Callable[..., tuple[StaffUser, str]],
    clock_at_late_evening: None,
) -> None:
    overdue = make_appeal(due_at=almaty(9, 18), organization=SU)
    make_appeal(due_at=almaty(27, 18), organization=SU)
    make_appeal(due_at=almaty(9, 18), organization=MEDEU)
    session.commit()
    tracking = session.scalar(select(Appeal.tracking_number).where(Appeal.id == overdue))
    user, password = make_user(Role.INSPECTOR)
    assert _sign_in(client, user, password).status_code == 303
    answer = client.get(
        "/staff/board.csv", params={"organization": SU, "bucket": "overdue", "lang": "ru"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = _csv_rows(answer.text)
    assert [row["tracking_number"] for row in rows] == [tracking]
    assert rows[0]["bucket"] == "overdue"
    assert rows[0]["organization_code"] == SU
    assert rows[0]["district_code"] == "medeu"
    assert rows[0]["due_at"].startswith("2026-03-09T18:00")  # Almaty time
    assert set(rows[0]) == set(board_csv.CSV_HEADER)
    everything = client.get("/staff/board.csv").text
    assert len(_csv_rows(everything)) == 3
    # The text ("… Самал-2 дом 58 кв 14 …") and the address ("Самал-2, дом 58, кв. 14").
    assert "кв 14" in SECRET_TEXT
    leaks = (PHONE, PHONE[1:], NAME, "Жанар", "Сериковн", "Самал", "дом 58", "кв 14", "кв. 14")
    for leak in (*leaks, SECRET_TEXT, SECRET_TEXT[:20]):
        assert leak not in everything, leak

    headers = login(client, user.username)
    api = client.get("/api/v1/sla-board/appeals.csv", params={"bucket": "on_time"}, headers=headers)
    assert api.status_code == 200
    assert len(_csv_rows(api.text)) == 1


def test_csv_has_every_row_streamed_in_chunks(
    client: Any,
    session: Session,
    make_appeal: Callable[..., int],
    make_user: Callable[..., tuple[StaffUser, str]],
    clock_at_late_evening: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing is cut off: with chunks of 2 rows, 7 appeals come out whole, most overdue
    first, through the page and the API."""
    monkeypatch.setattr(board_csv, "CSV_CHUNK_ROWS", 2)
    ids = [make_appeal(due_at=almaty(2 + day, 18)) for day in range(7)]
    session.commit()
    numbers = dict(
        session.execute(select(Appeal.id, Appeal.tracking_number).where(Appeal.id.in_(ids))).all()
    )
    inspector, _ = make_user(Role.INSPECTOR)
    chunks = list(board_csv.export_csv(session, user=inspector, filters=BoardFilters()))
    assert len(chunks) >= 4
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [row["tracking_number"] for row in rows] == [numbers[i] for i in ids]
    headers = login(client, inspector.username)
    api = client.get("/api/v1/sla-board/appeals.csv", headers=headers)
    assert [row["tracking_number"] for row in _csv_rows(api.text)] == [numbers[i] for i in ids]


# --- the page --------------------------------------------------------------------------------


def test_board_page_drills_down_to_the_appeal(
    client: Any,
    session: Session,
    make_appeal: Callable[..., int],
    make_user: Callable[..., tuple[StaffUser, str]],
    clock_at_late_evening: None,
) -> None:
    overdue = make_appeal(due_at=almaty(9, 18), organization=SU)
    make_appeal(due_at=almaty(27, 18), organization=MEDEU)
    session.commit()
    tracking = session.scalar(select(Appeal.tracking_number).where(Appeal.id == overdue))
    user, password = make_user(Role.INSPECTOR)
    assert client.get("/staff/board", follow_redirects=False).status_code == 303
    _sign_in(client, user, password)
    page = client.get("/staff/board")
    assert page.status_code == 200
    assert page.headers["Refresh"] == "60"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Контроль сроков исполнения" in page.text
    assert "«Алматы Су»" in page.text or "Алматы Су" in page.text
    links = {html.unescape(link) for link in re.findall(r'href="(/staff/board\?[^"]*)"', page.text)}
    drill = next(
        link for link in links if f"organization={SU}" in link and "bucket=overdue" in link
    )
    assert drill.endswith("#list")
    listed = client.get(drill.removesuffix("#list"))
    assert listed.status_code == 200
    assert f'href="/staff/appeals/{overdue}?lang=ru">{tracking}</a>' in listed.text
    assert SECRET_TEXT not in listed.text and NAME not in listed.text
    assert client.get(f"/staff/appeals/{overdue}").status_code == 200
    kazakh = client.get("/staff/board", params={"lang": "kk"})
    assert "Орындау мерзімдерін бақылау" in kazakh.text


def test_board_page_bad_filter_is_422_with_the_reason(
    client: Any, make_user: Callable[..., tuple[StaffUser, str]]
) -> None:
    user, password = make_user(Role.INSPECTOR)
    _sign_in(client, user, password)
    page = client.get("/staff/board", params={"received_from": "yesterday"})
    assert page.status_code == 422
    assert "ГГГГ-ММ-ДД" in page.text
    assert client.get("/staff/board", params={"bucket": "someday"}).status_code == 422
    assert client.get("/staff/board.csv", params={"district": "atlantis"}).status_code == 422


def test_board_page_for_an_executor_and_an_operator(
    client: Any,
    session: Session,
    make_appeal: Callable[..., int],
    make_user: Callable[..., tuple[StaffUser, str]],
    clock_at_late_evening: None,
) -> None:
    make_appeal(due_at=almaty(9, 18), organization=SU)
    make_appeal(due_at=almaty(9, 18), organization=MEDEU)
    session.commit()
    make_appeal(due_at=almaty(8, 18), organization=SU)
    session.commit()
    executor, password = make_user(Role.EXECUTOR, MEDEU)
    _sign_in(client, executor, password)
    page = client.get("/staff/board")
    assert page.status_code == 200
    assert 'name="organization"' not in page.text  # no organization choice: it is fixed
    assert 'id="total-overdue">1<' in page.text
    # The shared summary is per organization: another executor right after gets theirs.
    other, password = make_user(Role.EXECUTOR, SU)
    _sign_in(client, other, password)
    assert 'id="total-overdue">2<' in client.get("/staff/board").text
    _sign_in(client, executor, password)
    assert client.get("/staff/board", params={"organization": SU}).status_code == 403
    operator, password = make_user(Role.OPERATOR)
    _sign_in(client, operator, password)
    assert client.get("/staff/board").status_code == 403


def test_every_board_text_exists_in_both_languages() -> None:
    for key, entry in BOARD_TEXTS.items():
        assert set(entry) == {"ru", "kk"}, key
        assert all(entry.values()), key
        fields = [
            frozenset(name for _, name, _, _ in Formatter().parse(entry[language]) if name)
            for language in ("ru", "kk")
        ]
        assert fields[0] == fields[1], key
