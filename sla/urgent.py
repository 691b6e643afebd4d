"""An emergency does not wait for the deadline sweep: an immediate notice in the staff inbox.

When the pipeline registers an appeal of high urgency (gas smell, flooding, fallen wires,
fire …), the organization it was routed to (its executors' shared inbox) and the
inspectors get an entry at once, naming the words that raised the urgency; an urgent
appeal left in triage tells the inspectors, so somebody routes it by hand.

Exactly once per appeal, by the SLA sweep's own ledger: a ``sla_reminders`` row per
(appeal, kind, received_at) is claimed with ``INSERT … ON CONFLICT DO NOTHING RETURNING``
and only claimed rows become inbox entries, in the caller's transaction — so they appear
when the appeal's routing commits, and a rolled-back batch leaves neither. Texts carry no
personal data: tracking number, category and the trigger phrases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from core.clock import now
from core.db import dialect_insert, table_of
from routing.models import Category
from sla.models import SlaReminder, StaffNotification

#: Kinds of the ledger and the inbox: to the organization's executors, to the inspectors.
TO_ORGANIZATION = "urgent_executor"
TO_INSPECTORS = "urgent_inspectors"
TEXTS: dict[str, dict[str, str]] = {
    "routed": {
        "ru": "Срочное обращение {tn} ({category}): {triggers}. Требуется немедленная реакция.",
        "kk": "Шұғыл өтініш {tn} ({category}): {triggers}. Дереу әрекет ету қажет.",
    },
    "triage": {
        "ru": "Срочное обращение {tn} ({category}) ждёт решения оператора: {triggers}.",
        "kk": "Шұғыл өтініш {tn} ({category}) оператордың шешімін күтуде: {triggers}.",
    },
}
TOPIC_WORD = {"ru": "срочная тема", "kk": "шұғыл тақырып"}
OPERATOR_WORD = {"ru": "по решению оператора", "kk": "оператордың шешімімен"}


def _triggers(raw: str | None, language: str) -> str:
    """The words that raised the urgency; a category-only urgency says so."""
    words = [word.strip() for word in (raw or "").split(",") if word.strip()]
    shown = [
        TOPIC_WORD[language]
        if word.startswith("category:")
        else (OPERATOR_WORD[language] if word == "operator" else word)
        for word in words
    ]
    return ", ".join(dict.fromkeys(shown)) or TOPIC_WORD[language]


def notify_urgent(session: Session, appeal_ids: Sequence[int]) -> int:
    """Inbox entries for the urgent appeals among ``appeal_ids`` not yet noticed; flushes
    only. Returns how many entries were written."""
    if not appeal_ids:
        return 0
    urgent = session.execute(
        select(
            Appeal.id,
            Appeal.tracking_number,
            Appeal.organization_id,
            Appeal.urgency_triggers,
            Appeal.received_at,
            Category.name_ru,
            Category.name_kk,
        )
        .outerjoin(Category, Category.code == Appeal.category_code)
        .where(Appeal.id.in_(appeal_ids), Appeal.urgency == "high")
    ).all()
    if not urgent:
        return 0
    moment = now()
    wanted = [
        {
            "appeal_id": row.id,
            "kind": kind,
            "due_moment": row.received_at,
            "recipient_kind": recipient,
            "created_at": moment,
            "sent_at": moment,
        }
        for row in urgent
        for kind, recipient in (
            ((TO_ORGANIZATION, "executor"), (TO_INSPECTORS, "inspector"))
            if row.organization_id is not None
            else ((TO_INSPECTORS, "inspector"),)
        )
    ]
    ledger = table_of(SlaReminder)
    statement = (
        dialect_insert(session.get_bind().dialect.name, ledger)
        .values(wanted)
        .on_conflict_do_nothing(index_elements=["appeal_id", "kind", "due_moment"])
        .returning(ledger.c.appeal_id, ledger.c.kind)
    )
    claimed = {(int(appeal_id), str(kind)) for appeal_id, kind in session.execute(statement)}
    rows: list[dict[str, Any]] = []
    for row in urgent:
        situation = "routed" if row.organization_id is not None else "triage"
        texts = [
            TEXTS[situation][language].format(
                tn=row.tracking_number,
                category=(row.name_ru if language == "ru" else row.name_kk) or "—",
                triggers=_triggers(row.urgency_triggers, language),
            )
            for language in ("ru", "kk")
        ]
        for kind, role, organization_id in (
            (TO_ORGANIZATION, "executor", row.organization_id),
            (TO_INSPECTORS, "inspector", None),
        ):
            if (row.id, kind) in claimed:
                rows.append(
                    {
                        "staff_user_id": None,
                        "organization_id": organization_id,
                        "role": role,
                        "appeal_id": row.id,
                        "kind": kind,
                        "text_ru": texts[0],
                        "text_kk": texts[1],
                        "created_at": moment,
                        "read_at": None,
                    }
                )
    if rows:
        session.execute(insert(StaffNotification), rows)
    session.flush()
    return len(rows)
