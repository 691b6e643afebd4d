"""One citizen across channels: merging records on evidence, and undoing a wrong merge.

Real PostgreSQL; appeals go through ``intake.submit()`` as the channels send them.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Channel, Citizen, CitizenMerge
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import StaffUser
from intake.repeats import identity
from intake.repeats.identity_api import router as identity_router
from intake.schemas import CitizenContact
from tests.conftest import login

PHONE, PHONE_MASKED, TELEGRAM_ID = "+77015551234", "+7701***1234", "700100"
CALL = "На улице Толе би не горят фонари уже неделю, вечером темно и опасно ходить"
BOT = "В подъезде дома на Абая 10 не работает лифт третий день, пожилые не могут выйти"
SHARED = "Повторно пишу: во дворе на Абая 10 не вывозят мусор, контейнеры переполнены"
WHATSAPP = "Во дворе на Абая 10 упало дерево и перегородило проезд для машин скорой помощи"


@pytest.fixture
def operator(make_user: Any) -> StaffUser:
    user: StaffUser = make_user("operator")[0]
    return user


@pytest.fixture
def merged(submit_appeal: Any) -> dict[str, Appeal]:
    """Telegram first (its own record), then a call (the phone's record), then a Telegram
    message with the shared contact: phone and Telegram id together."""
    bot = submit_appeal(
        BOT, channel=Channel.TELEGRAM, citizen=CitizenContact(telegram_user_id=TELEGRAM_ID)
    )
    call = submit_appeal(
        CALL, channel=Channel.PHONE, citizen=CitizenContact(phone="8 701 555 12 34")
    )
    assert bot.citizen_id is not None and call.citizen_id is not None
    assert bot.citizen_id != call.citizen_id
    shared = submit_appeal(
        SHARED,
        channel=Channel.TELEGRAM,
        citizen=CitizenContact(phone=PHONE, telegram_user_id=TELEGRAM_ID),
    )
    return {"bot": bot, "call": call, "shared": shared}


def ids(appeals: list[dict[str, Any]]) -> list[int]:
    return [appeal["id"] for appeal in appeals]


def only_merge(session: Session, citizen_id: int) -> CitizenMerge:
    rows = identity.merges_of(session, citizen_id)
    assert len(rows) == 1
    return rows[0]


def test_separate_records_are_separate_people(session: Session, submit_appeal: Any) -> None:
    bot = submit_appeal(
        BOT, channel=Channel.TELEGRAM, citizen=CitizenContact(telegram_user_id=TELEGRAM_ID)
    )
    call = submit_appeal(CALL, channel=Channel.PHONE, citizen=CitizenContact(phone=PHONE))
    assert bot.citizen_id is not None and call.citizen_id is not None
    assert identity.group_ids(session, bot.citizen_id) == [bot.citizen_id]
    assert identity.group_ids(session, call.citizen_id) == [call.citizen_id]
    assert identity.merges_of(session, call.citizen_id) == []


def test_shared_contact_merges_the_telegram_record_into_the_phone_record(
    session: Session, submit_appeal: Any, merged: dict[str, Appeal]
) -> None:
    bot, call, shared = merged["bot"], merged["call"], merged["shared"]
    assert bot.citizen_id is not None and call.citizen_id is not None
    # The shared contact's appeal lands on the phone's record, which stays the root.
    assert shared.citizen_id == call.citizen_id
    assert identity.root_of(session, bot.citizen_id) == call.citizen_id
    group = sorted([bot.citizen_id, call.citizen_id])
    assert identity.group_ids(session, bot.citizen_id) == group
    assert identity.group_ids(session, call.citizen_id) == group

    row = only_merge(session, bot.citizen_id)
    assert (row.kept_id, row.merged_id) == (call.citizen_id, bot.citizen_id)
    assert row.reason == "shared_contact" and row.by_id is None and row.undone_at is None
    assert row.evidence == {"telegram_user_id": TELEGRAM_ID, "phone": PHONE_MASKED}

    # The identity lives on where it was: the Telegram id stays on its own record.
    bot_record = session.get(Citizen, bot.citizen_id, populate_existing=True)
    assert bot_record is not None and bot_record.telegram_user_id == TELEGRAM_ID

    profile = identity.profile(session, bot.citizen_id)
    assert profile["root_id"] == call.citizen_id
    assert ids(profile["appeals"]) == [shared.id, call.id, bot.id]  # newest first
    assert profile["appeals_total"] == 3
    assert [record["phone"] for record in profile["records"] if record["root"]] == [PHONE_MASKED]
    assert PHONE not in repr(profile)

    # The same shared contact again changes nothing: already one person.
    submit_appeal(
        SHARED + " снова",
        channel=Channel.TELEGRAM,
        citizen=CitizenContact(phone=PHONE, telegram_user_id=TELEGRAM_ID),
    )
    assert len(identity.merges_of(session, call.citizen_id)) == 1


def test_whatsapp_and_telegram_land_in_the_same_group(
    session: Session, submit_appeal: Any, merged: dict[str, Appeal]
) -> None:
    call, bot = merged["call"], merged["bot"]
    whatsapp = submit_appeal(
        WHATSAPP, channel=Channel.WHATSAPP, citizen=CitizenContact(phone="+7 701 555-12-34")
    )
    assert whatsapp.citizen_id == call.citizen_id  # the phone itself: no merge needed
    later_bot = submit_appeal(
        BOT + " снова",
        channel=Channel.TELEGRAM,
        citizen=CitizenContact(telegram_user_id=TELEGRAM_ID),
    )
    assert later_bot.citizen_id == bot.citizen_id
    assert call.citizen_id is not None
    profile = identity.profile(session, call.citizen_id)
    assert set(ids(profile["appeals"])) == {
        appeal.id for appeal in (*merged.values(), whatsapp, later_bot)
    }
    assert len(identity.merges_of(session, call.citizen_id)) == 1


def test_undoing_a_wrong_merge_splits_the_people_and_their_appeals(
    session: Session, submit_appeal: Any, merged: dict[str, Appeal], operator: StaffUser
) -> None:
    bot, call, shared = merged["bot"], merged["call"], merged["shared"]
    assert bot.citizen_id is not None and call.citizen_id is not None
    row = only_merge(session, call.citizen_id)

    undone = identity.undo_merge(session, merge_id=row.id, by=operator)
    session.commit()
    assert undone.undone_at is not None and undone.undone_by_id == operator.id
    assert identity.group_ids(session, call.citizen_id) == [call.citizen_id]
    assert identity.group_ids(session, bot.citizen_id) == [bot.citizen_id]
    assert ids(identity.profile(session, call.citizen_id)["appeals"]) == [shared.id, call.id]
    assert ids(identity.profile(session, bot.citizen_id)["appeals"]) == [bot.id]
    # The undone merge stays in both people's history.
    assert [m["undone"] for m in identity.profile(session, bot.citizen_id)["merges"]] == [True]

    with pytest.raises(Conflict) as second:
        identity.undo_merge(session, merge_id=row.id, by=operator)
    assert second.value.code == "merge_already_undone"

    # The next shared contact does not overturn the operator's decision...
    submit_appeal(
        SHARED + " ещё раз",
        channel=Channel.TELEGRAM,
        citizen=CitizenContact(phone=PHONE, telegram_user_id=TELEGRAM_ID),
    )
    assert identity.group_ids(session, bot.citizen_id) == [bot.citizen_id]
    # ...but an operator may merge them again on purpose.
    again = identity.merge(
        session,
        kept_id=call.citizen_id,
        merged_id=bot.citizen_id,
        reason="operator",
        evidence={"note": "confirmed by phone"},
        by=operator,
    )
    assert identity.group_ids(session, bot.citizen_id) == sorted([bot.citizen_id, call.citizen_id])
    assert again.id != row.id


def new_citizen(session: Session, phone: str) -> int:
    citizen = Citizen(phone_e164=phone)
    session.add(citizen)
    session.flush()
    return citizen.id


def test_refusals(session: Session, operator: StaffUser) -> None:
    one, other = new_citizen(session, "+77010000001"), new_citizen(session, "+77010000002")

    def merge(kept: int, merged: int, reason: str = "operator") -> CitizenMerge:
        return identity.merge(
            session, kept_id=kept, merged_id=merged, reason=reason, evidence={}, by=operator
        )

    with pytest.raises(Conflict) as self_merge:
        merge(one, one)
    assert self_merge.value.code == "already_one_person"
    with pytest.raises(ValidationFailed) as no_reason:
        merge(one, other, reason="  ")
    assert no_reason.value.code == "invalid_merge_reason"
    with pytest.raises(NotFound) as missing:
        merge(one, 987654321)
    assert missing.value.code == "citizen_not_found"
    with pytest.raises(NotFound) as no_merge:
        identity.undo_merge(session, merge_id=987654321, by=operator)
    assert no_merge.value.code == "merge_not_found"

    merge(one, other)
    with pytest.raises(Conflict) as reverse:
        merge(other, one)  # would make a cycle
    assert reverse.value.code == "already_one_person"
    assert identity.root_of(session, one) == one and identity.root_of(session, other) == one


def test_merges_join_roots_and_undo_leaves_later_merges(
    session: Session, operator: StaffUser
) -> None:
    a, b, c = (new_citizen(session, f"+7701000001{n}") for n in range(3))

    def merge(kept: int, merged: int) -> CitizenMerge:
        return identity.merge(
            session, kept_id=kept, merged_id=merged, reason="operator", evidence={}, by=operator
        )

    first = merge(a, b)
    second = merge(c, b)  # b's group (root a) joins c's group
    assert (second.kept_id, second.merged_id) == (c, a)
    assert second.evidence == {"requested": {"kept_id": c, "merged_id": b}}
    assert identity.group_ids(session, b) == sorted([a, b, c])
    assert identity.root_of(session, b) == c

    identity.undo_merge(session, merge_id=first.id, by=operator)
    assert identity.group_ids(session, b) == [b]
    assert identity.group_ids(session, a) == sorted([a, c])

    identity.undo_merge(session, merge_id=second.id, by=operator)
    assert [identity.group_ids(session, x) for x in (a, b, c)] == [[a], [b], [c]]
    undone = session.scalar(
        select(func.count()).select_from(CitizenMerge).where(CitizenMerge.undone_at.is_not(None))
    )
    assert undone == 2


# --- the API -------------------------------------------------------------------------


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The app with the identity router (included here until the shell includes it)."""
    app: Any = client.app
    if "/api/v1/citizens/{citizen_id}" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(identity_router)
    return client


def test_api_profile_is_for_operators_with_masked_phones(
    api: TestClient, make_user: Any, merged: dict[str, Appeal]
) -> None:
    call, bot = merged["call"], merged["bot"]
    operator = login(api, make_user("operator")[0].username)
    response = api.get(f"/api/v1/citizens/{bot.citizen_id}", headers=operator)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["root_id"] == call.citizen_id
    assert {record["phone"] for record in body["records"]} == {PHONE_MASKED, None}
    assert PHONE not in response.text
    assert [m["reason"] for m in body["merges"]] == ["shared_contact"]
    assert len(body["appeals"]) == 3 and body["appeals_total"] == 3

    for role, org in (("executor", "almaty-su"), ("analyst", None)):
        headers = login(api, make_user(role, org)[0].username)
        denied = api.get(f"/api/v1/citizens/{bot.citizen_id}", headers=headers)
        assert denied.status_code == 403, (role, denied.text)
        assert denied.json()["error"]["code"] == "role_not_allowed"
    assert api.get(f"/api/v1/citizens/{bot.citizen_id}").status_code == 401
    assert api.get("/api/v1/citizens/987654321", headers=operator).status_code == 404


def test_api_merge_and_undo(api: TestClient, session: Session, make_user: Any) -> None:
    one, other = new_citizen(session, "+77010000021"), new_citizen(session, "+77010000022")
    session.commit()
    inspector_user = make_user("inspector")[0]
    inspector = login(api, inspector_user.username)
    executor = login(api, make_user("executor", "almaty-su")[0].username)
    body = {"kept_id": one, "merged_id": other, "reason": "Одна и та же заявительница, сверено"}

    assert api.post("/api/v1/citizens/merges", json=body, headers=executor).status_code == 403
    created = api.post("/api/v1/citizens/merges", json=body, headers=inspector)
    assert created.status_code == 201, created.text
    merge = created.json()
    assert merge["reason"] == "operator" and merge["by_id"] == inspector_user.id
    assert merge["evidence"] == {"note": body["reason"]}
    assert identity.group_ids(session, other) == sorted([one, other])

    again = api.post("/api/v1/citizens/merges", json=body, headers=inspector)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_one_person"
    unknown = {**body, "merged_id": 987654321}
    bad = api.post("/api/v1/citizens/merges", json=unknown, headers=inspector)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_citizen"

    undo = f"/api/v1/citizens/merges/{merge['id']}/undo"
    assert api.post(undo, headers=executor).status_code == 403
    undone = api.post(undo, headers=inspector)
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone"] is True
    assert identity.group_ids(session, other) == [other]
    twice = api.post(undo, headers=inspector)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "merge_already_undone"
