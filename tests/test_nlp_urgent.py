"""An urgent appeal puts an immediate notice in the inbox of the organization it was routed to
and of the inspectors: once per appeal, naming the words that raised the urgency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from core.settings import Settings, override_settings
from sla.models import StaffNotification
from sla.urgent import TO_INSPECTORS, TO_ORGANIZATION, notify_urgent
from sla.workflow import inbox
from tests.nlp_support import corpus_model_dir

FLOOD = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


@pytest.fixture
def nlp_settings(settings: Settings) -> Iterator[Settings]:
    current = settings.model_copy(
        update={"nlp_model_dir": str(corpus_model_dir()), "nlp_auto_train": False}
    )
    with override_settings(current):
        yield current


def _notices(session: Session, appeal_id: int) -> list[StaffNotification]:
    query = select(StaffNotification).where(StaffNotification.appeal_id == appeal_id)
    return list(session.scalars(query.order_by(StaffNotification.kind)))


def test_an_urgent_routed_appeal_reaches_the_organization_and_inspectors_at_once(
    session: Session, submit_appeal: Any, make_user: Any, nlp_settings: Settings
) -> None:
    appeal = submit_appeal(FLOOD)
    assert appeal.status is Status.ASSIGNED and appeal.urgency == "high"
    notices = _notices(session, appeal.id)
    assert [(n.kind, n.role) for n in notices] == [
        (TO_ORGANIZATION, "executor"),
        (TO_INSPECTORS, "inspector"),
    ]
    assert notices[0].organization_id == appeal.organization_id
    for notice in notices:
        assert appeal.tracking_number in notice.text_ru and "прорвало трубу" in notice.text_ru
        assert appeal.tracking_number in notice.text_kk and "Шұғыл" in notice.text_kk
        assert "Асель" not in notice.text_ru + notice.text_kk  # no personal data
    water, _ = make_user("executor", "almaty-su")
    other, _ = make_user("executor", "akimat-almaly")
    inspector, _ = make_user("inspector")
    assert [n.kind for n in inbox(session, user=water) if n.appeal_id == appeal.id] == [
        TO_ORGANIZATION
    ]
    assert not [n for n in inbox(session, user=other) if n.appeal_id == appeal.id]
    assert [n.kind for n in inbox(session, user=inspector) if n.appeal_id == appeal.id] == [
        TO_INSPECTORS
    ]
    # exactly once: asking again (a retried job, a second worker) writes nothing
    assert notify_urgent(session, [appeal.id]) == 0
    assert len(_notices(session, appeal.id)) == 2


def test_a_calm_appeal_sends_no_notice_and_an_urgent_one_in_triage_tells_inspectors(
    session: Session, submit_appeal: Any, nlp_settings: Settings, tmp_path: Path
) -> None:
    calm = submit_appeal("Во дворе на Самале-2 не вывозят мусор уже неделю")
    assert calm.urgency == "normal" and _notices(session, calm.id) == []
    # an operator must decide first (threshold above any confidence): inspectors hear of it
    strict = nlp_settings.model_copy(update={"routing_min_confidence": 1.01})
    with override_settings(strict):
        waiting = submit_appeal("Во дворе дома сильно пахнет газом, соседи боятся")
    assert (waiting.status, waiting.urgency) == (Status.REGISTERED, "high")
    [notice] = _notices(session, waiting.id)
    assert (notice.kind, notice.role, notice.organization_id) == (TO_INSPECTORS, "inspector", None)
    assert "пахнет газом" in notice.text_ru and "оператора" in notice.text_ru
