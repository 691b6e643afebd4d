"""Domain events: "this happened", recorded in the transaction that made it happen.

Lower rooms (``intake``, ``ratings``) may not import ``channels``, yet a status
change must reach the citizen as a notification. So they record an event here;
the event is an outbox job (``core.jobs.defer``), written in the same
transaction and run after commit by ``channels.jobs.handle_events`` — a job
*name*, resolved when it runs, not an import. An event is therefore never lost
with a crash (the outbox relay runs it again) and never seen for a change that
was rolled back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core import jobs
from core.clock import now

EVENTS_JOB = "channels.jobs.handle_events"
STATUS_CHANGED = "appeal.status_changed"
LOW_RATING = "rating.low"


def record(session: Session, name: str, **payload: Any) -> None:
    """Record one event (JSON-serializable payload) for the handler to run after commit."""
    record_many(session, [{"name": name, **payload}])


def record_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Record several events as one outbox job (the pipeline's batches)."""
    if events:
        jobs.defer(session, EVENTS_JOB, events)


def status_changed(appeal_id: int, from_status: str | None, to_status: str) -> dict[str, Any]:
    """The event of one appeal's status change; ``at`` makes each change distinct."""
    return {
        "name": STATUS_CHANGED,
        "appeal_id": appeal_id,
        "from_status": from_status,
        "to_status": to_status,
        "at": now().isoformat(),
    }


def record_status_change(
    session: Session, appeal_id: int, from_status: str | None, to_status: str
) -> None:
    """Called by ``intake.actions`` at each status change (the only place that changes one)."""
    record_many(session, [status_changed(appeal_id, from_status, to_status)])
