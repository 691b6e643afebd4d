"""The deadline sweep: reminders before the legal deadline, escalation at breach.

Set-based: for each kind of notice one ``INSERT INTO sla_reminders … SELECT … FROM appeals
WHERE <indexed range on due_at> ON CONFLICT DO NOTHING RETURNING`` claims the appeals that
are due, and only the claimed rows become inbox entries, in the same transaction. The
unique (appeal, kind, deadline) ledger makes it exactly-once: a sweep that crashes commits
neither the ledger row nor the notification, so the next sweep does both; a second sweep
(or a concurrent one: PostgreSQL makes it wait on the uncommitted key, then skip) claims
nothing. A moved deadline (extension, pause) is a new key, so its reminders come again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    and_,
    exists,
    false,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from appeals.models import Appeal
from core import hooks
from core.db import UTCDateTime, dialect_insert, table_of
from routing.models import Category
from sla import texts
from sla.clocks import OPEN_STATUS_VALUES, ReminderOffset, reminder_bound
from sla.models import ExtensionRequest, ExtensionState, SlaReminder, StaffNotification
from sla.policy import DeadlinePolicy

# The appeals table itself: the sweep is set-based Core SQL over it.
appeals = table_of(Appeal)
ledger = SlaReminder.__table__

#: At breach: who hears of it, and whether the appeal needs an organization for that.
BREACH_KINDS: tuple[tuple[str, str, bool], ...] = (
    ("breach_executor", "executor", True),
    ("breach_head", "head", True),
    ("breach_inspectors", "inspector", False),
)
OVERDUE_REASON = "overdue"
#: The citizen was not told of an extension by its notice deadline (3 working days).
NOTICE_MISSED = "extension_notice_missed"
#: Statuses in which a missing extension notice still matters: the answer has not gone out.
NOTICE_STATUS_VALUES = (*OPEN_STATUS_VALUES, "answered")
#: How far back approved extensions are checked (two months of extension and more).
NOTICE_LOOKBACK = timedelta(days=120)
_request = ExtensionRequest.__table__.alias("notice_request")
_later_request = ExtensionRequest.__table__.alias("later_request")


def notice_missed(
    appeal_id: ColumnElement[int], notice_due: ColumnElement[datetime], at: datetime
) -> tuple[Any, list[ColumnElement[bool]]]:
    """Appeals whose citizen was not told of their extension in time, as (the approved
    requests to join the appeals on, the conditions): the latest approved extension's notice
    deadline has passed, and no extension notice was sent between its decision and that
    deadline. An undeliverable notice (a portal or phone appeal) is not sent: someone must
    tell the citizen otherwise. Driven by the small approved-requests index, not the appeals.
    """
    request = _request
    later = exists().where(
        _later_request.c.appeal_id == request.c.appeal_id,
        _later_request.c.state == ExtensionState.APPROVED.value,
        _later_request.c.id > request.c.id,
    )
    # Whether the notice went out is the notifications' record (channels, above sla).
    sent = hooks.call(
        hooks.CITIZEN_NOTICE_SENT, appeal_id, "extension_notice", request.c.decided_at, notice_due
    )
    return request, [
        request.c.appeal_id == appeal_id,
        request.c.state == ExtensionState.APPROVED.value,
        request.c.created_at >= at - NOTICE_LOOKBACK,
        request.c.decided_at.is_not(None),
        notice_due.is_not(None),
        notice_due <= at,
        ~later,
        ~sent,
    ]


@dataclass
class SweepResult:
    """What one sweep claimed, per kind; ``more`` when a batch limit was hit."""

    claimed: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    more: bool = False

    @property
    def total(self) -> int:
        return sum(self.claimed.values())


def _claim(
    session: Session,
    *,
    kinds: Sequence[tuple[str, str, bool]],
    conditions: Sequence[ColumnElement[bool]],
    at: datetime,
    batch: int,
) -> dict[str, list[tuple[int, datetime]]]:
    """Insert ledger rows for the due (appeal, kind) pairs not yet noted, in one statement
    (one scan of the candidate range for all kinds); returns {kind: [(appeal id, deadline)]}.

    ``kinds``: (kind, recipient, needs an organization).
    """
    parts = [
        select(
            literal(kind, String).label("kind"),
            literal(recipient, String).label("recipient"),
            literal(needs_org, Boolean).label("needs_org"),
        )
        for kind, recipient, needs_org in kinds
    ]
    wanted = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("wanted")
    already = exists().where(
        ledger.c.appeal_id == appeals.c.id,
        ledger.c.kind == wanted.c.kind,
        ledger.c.due_moment == appeals.c.due_at,
    )
    candidates = (
        select(
            appeals.c.id,
            wanted.c.kind,
            appeals.c.due_at,
            wanted.c.recipient,
            literal(at, UTCDateTime()),
            literal(at, UTCDateTime()),
        )
        .select_from(appeals.join(wanted, true()))
        .where(
            appeals.c.status.in_(OPEN_STATUS_VALUES),
            appeals.c.paused_at.is_(None),
            appeals.c.due_at.is_not(None),
            *conditions,
            or_(wanted.c.needs_org == false(), appeals.c.organization_id.is_not(None)),
            ~already,
        )
        .order_by(appeals.c.due_at, appeals.c.id, wanted.c.kind)
        .limit(batch)
    )
    statement = (
        dialect_insert(session.get_bind().dialect.name, ledger)
        .from_select(
            ["appeal_id", "kind", "due_moment", "recipient_kind", "created_at", "sent_at"],
            candidates,
        )
        .on_conflict_do_nothing(index_elements=["appeal_id", "kind", "due_moment"])
        .returning(ledger.c.appeal_id, ledger.c.kind, ledger.c.due_moment)
    )
    claimed: dict[str, list[tuple[int, datetime]]] = {kind: [] for kind, _, _ in kinds}
    for appeal_id, kind, due in session.execute(statement):
        claimed[kind].append((int(appeal_id), due))
    return claimed


def _claim_missed_notices(
    session: Session, *, at: datetime, batch: int
) -> dict[str, list[tuple[int, datetime]]]:
    """Ledger rows (kind ``NOTICE_MISSED``, keyed by the notice deadline) for the extensions
    whose citizen was not told in time: the inspectors hear of each once."""
    request, conditions = notice_missed(appeals.c.id, appeals.c.extension_notice_due_at, at)
    already = exists().where(
        ledger.c.appeal_id == appeals.c.id,
        ledger.c.kind == NOTICE_MISSED,
        ledger.c.due_moment == appeals.c.extension_notice_due_at,
    )
    candidates = (
        select(
            appeals.c.id,
            literal(NOTICE_MISSED, String),
            appeals.c.extension_notice_due_at,
            literal("inspector", String),
            literal(at, UTCDateTime()),
            literal(at, UTCDateTime()),
        )
        .select_from(request.join(appeals, appeals.c.id == request.c.appeal_id))
        .where(*conditions, appeals.c.status.in_(NOTICE_STATUS_VALUES), ~already)
        .order_by(appeals.c.extension_notice_due_at, appeals.c.id)
        .limit(batch)
    )
    statement = (
        dialect_insert(session.get_bind().dialect.name, ledger)
        .from_select(
            ["appeal_id", "kind", "due_moment", "recipient_kind", "created_at", "sent_at"],
            candidates,
        )
        .on_conflict_do_nothing(index_elements=["appeal_id", "kind", "due_moment"])
        .returning(ledger.c.appeal_id, ledger.c.due_moment)
    )
    return {NOTICE_MISSED: [(int(row[0]), row[1]) for row in session.execute(statement)]}


def _notifications(
    session: Session,
    claimed: dict[str, list[tuple[int, datetime]]],
    recipients: dict[str, str],
    at: datetime,
) -> int:
    """The inbox entries for what was claimed: one per team and appeal, texts in ru and kk."""
    ids = sorted({appeal_id for rows in claimed.values() for appeal_id, _ in rows})
    if not ids:
        return 0
    facts = {
        row.id: row
        for row in session.execute(
            select(
                appeals.c.id,
                appeals.c.tracking_number,
                appeals.c.organization_id,
                Category.name_ru,
                Category.name_kk,
            )
            .select_from(appeals)
            .outerjoin(Category, Category.code == appeals.c.category_code)
            .where(appeals.c.id.in_(ids))
        )
    }
    rows: list[dict[str, Any]] = []
    for kind, claimed_rows in claimed.items():
        template = "remind" if kind.startswith("remind_") else kind
        for appeal_id, due in claimed_rows:
            fact = facts[appeal_id]
            category = (fact.name_ru, fact.name_kk) if fact.name_ru else None
            text_ru, text_kk = texts.render(
                template, tracking_number=fact.tracking_number, category=category, due=due
            )
            rows.append(
                {
                    "staff_user_id": None,
                    "organization_id": fact.organization_id,
                    "role": recipients[kind],
                    "appeal_id": appeal_id,
                    "kind": kind,
                    "text_ru": text_ru,
                    "text_kk": text_kk,
                    "created_at": at,
                    "read_at": None,
                }
            )
    session.execute(insert(StaffNotification), rows)
    return len(rows)


def sweep(
    session: Session,
    *,
    policy: DeadlinePolicy,
    offsets: Sequence[ReminderOffset],
    at: datetime,
    batch: int,
) -> SweepResult:
    """One pass: breaches first (escalate and mark overdue), then the reminders, then the
    extension notices the citizen did not get in time. Flushes only; the caller commits, so
    the ledger rows and the inbox entries stand or fall together."""
    result = SweepResult()
    recipients = {kind: recipient for kind, recipient, _ in BREACH_KINDS}
    claimed = _claim(
        session, kinds=BREACH_KINDS, conditions=[appeals.c.due_at <= at], at=at, batch=batch
    )
    more = sum(len(rows) for rows in claimed.values()) >= batch
    for offset in offsets:
        bound = reminder_bound(policy, offset, at)
        reminders = _claim(
            session,
            kinds=[(offset.kind, "executor", True)],
            conditions=[appeals.c.due_at > at, appeals.c.due_at < bound],
            at=at,
            batch=batch,
        )
        claimed.update(reminders)
        recipients[offset.kind] = "executor"
        more = more or len(reminders[offset.kind]) >= batch
    missed = _claim_missed_notices(session, at=at, batch=batch)
    claimed.update(missed)
    recipients[NOTICE_MISSED] = "inspector"
    more = more or len(missed[NOTICE_MISSED]) >= batch
    _notifications(session, claimed, recipients, at)
    breached = [appeal_id for appeal_id, _ in claimed["breach_inspectors"]]
    if breached:
        # The marker the board and the escalated queue read (a later breach of an extended
        # deadline moves it); an appeal escalated for another reason (ping-pong) keeps that
        # reason, and the ledger still records the breach.
        not_otherwise = or_(
            appeals.c.escalated_at.is_(None), appeals.c.escalation_reason == OVERDUE_REASON
        )
        outcome = session.execute(
            update(appeals)
            .where(and_(appeals.c.id.in_(breached), not_otherwise))
            .values(escalated_at=at, escalation_reason=OVERDUE_REASON)
        )
        result.escalated = int(getattr(outcome, "rowcount", 0) or 0)
    result.claimed = {kind: len(rows) for kind, rows in claimed.items() if rows}
    result.more = more
    session.flush()
    return result
