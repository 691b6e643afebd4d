"""The pipeline for one appeal: nlp annotates, anonymity rule, sla registers, routing assigns.

Idempotent: it only acts on an appeal still in ``received``, so a relayed or
retried job does nothing the second time.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import local
from core.settings import get_settings
from intake import actions
from intake.lifecycle import Status
from intake.models import Appeal
from nlp.annotate import annotate, load_lexicon
from routing.service import decide
from sla.service import deadline_policy


def process(session: Session, appeal_id: int) -> Appeal | None:
    query = select(Appeal).where(Appeal.id == appeal_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    appeal = session.scalar(query)
    if appeal is None or appeal.status is not Status.RECEIVED:
        return appeal
    annotation = annotate(appeal.text, load_lexicon(get_settings().data_dir))
    appeal.language = appeal.language or annotation.language
    if appeal.category_code is None:
        appeal.category_code = annotation.category_code
        appeal.category_confidence = annotation.confidence
    if appeal.district_code is None:
        appeal.district_code = annotation.district_code
    appeal.urgency = annotation.urgency
    appeal.urgency_triggers = ", ".join(annotation.urgency_triggers) or None
    appeal.appeal_type = appeal.appeal_type or annotation.appeal_type

    if appeal.anonymous and not deadline_policy().anonymous_considered(annotation.safety_flag):
        actions.reject_by_system(
            session,
            appeal,
            reason_code="anonymous",
            note="anonymous appeals are considered only when they report a crime or a threat "
            "to public safety",
        )
        return appeal

    actions.register(session, appeal)
    decision = decide(
        session,
        category_code=appeal.category_code,
        district_code=appeal.district_code,
        on=local(appeal.received_at).date(),
    )
    actions.apply_routing(session, appeal, decision)
    return appeal
