"""The pipeline: nlp annotates, the anonymity rule, sla registers, routing assigns, and an
urgent appeal puts an immediate notice in the staff inbox (``sla.urgent``).

The topic classifier runs once per batch (one ``predict()`` call); a topic less
sure than ``routing_min_confidence``, or a text that is no appeal at all (a
greeting, thanks, spam, abuse), goes to the operators' triage queue with the
reason instead of being routed blindly. Each annotation is stored in
``appeal_classifications`` with the model version that made it.

It works in batches: the pending appeals (status ``received``) are locked with
``FOR UPDATE SKIP LOCKED`` so several workers share the work, the routing
table and the deadline policy are checked against their stamps once per batch
(``core.stamps``: an admin's change is seen by the next batch in every process),
and the whole batch is written with one UPDATE and one INSERT of history rows. Idempotent: an
appeal is only processed while it is still ``received``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from appeals.reasons import Reason
from appeals.transitions import SystemOutcome, apply_system_outcomes, routing_reason_fields
from core.clock import local, now
from core.db import table_of
from core.settings import get_settings
from intake.model_sync import ensure_current
from intake.nlp_models import AppealClassification
from intake.place_learning import learned_snapshot
from intake.repeats.linking import link_appeals
from intake.repeats.matching import match_keys
from nlp.annotate import Annotation, Lexicon, annotate, annotate_batch, load_lexicon
from routing.service import RoutingTable, routing_table
from sla.policy import DeadlinePolicy
from sla.service import deadline_policy, internal_target_due
from sla.urgent import notify_urgent

DEFAULT_BATCH = 200
_INPUT_COLUMNS = (
    Appeal.id,
    Appeal.text,
    Appeal.language,
    Appeal.category_code,
    Appeal.category_confidence,
    Appeal.district_code,
    Appeal.appeal_type,
    Appeal.anonymous,
    Appeal.received_at,
    Appeal.address,
    Appeal.latitude,
    Appeal.longitude,
)


def decide_outcome(
    appeal: Any,
    *,
    lexicon: Lexicon,
    policy: DeadlinePolicy,
    table: RoutingTable,
    min_confidence: float = 0.0,
    annotation: Annotation | None = None,
) -> SystemOutcome:
    """Everything the pipeline decides for one appeal, without touching the database."""
    if annotation is None:
        annotation = annotate(appeal.text, lexicon, address=appeal.address)
    match_text, place_keys, street_key = match_keys(appeal.text, appeal.address)
    fields: dict[str, Any] = {
        "match_text": match_text,
        "place_keys": place_keys,
        "street_key": street_key,
        "language": appeal.language or annotation.reply_language,
        "category_code": appeal.category_code or annotation.category_code,
        "category_confidence": (
            appeal.category_confidence if appeal.category_code else annotation.confidence
        ),
        "district_code": appeal.district_code or annotation.district_code,
        "urgency": annotation.urgency,
        "urgency_triggers": ", ".join(annotation.urgency_triggers)[:300] or None,
        "appeal_type": appeal.appeal_type or annotation.appeal_type,
    }
    outcome = SystemOutcome(appeal_id=appeal.id, current=Status.RECEIVED, fields=fields)
    if appeal.anonymous and not policy.anonymous_considered(annotation.safety_flag):
        fields["rejection_reason"] = "anonymous"
        outcome.steps.append((Status.REJECTED, Reason("anonymous"), None))
        return outcome
    registered_on = policy.registration_date(appeal.received_at)
    fields["registered_on"] = registered_on
    fields["due_at"] = policy.due_at(appeal.received_at, fields["appeal_type"])
    fields["forward_due_at"] = policy.forward_due(appeal.received_at)
    fields["target_due_at"] = internal_target_due(
        received_at=appeal.received_at,
        category_code=fields["category_code"],
        urgency=fields["urgency"],
        legal_due=fields["due_at"],
        policy=policy,
    )
    outcome.steps.append(
        (Status.REGISTERED, Reason("registered", {"date": str(registered_on)}), None)
    )
    guessed = appeal.category_code is None
    if guessed and annotation.not_appeal:
        why = Reason(
            "not_appeal",
            {"kind": annotation.not_appeal, "evidence": list(annotation.not_appeal_evidence)},
        )
        fields.update(routing_reason_fields(why))
        fields["triage_reason"] = "not_appeal"
        return outcome
    if guessed and fields["category_code"] and annotation.confidence < min_confidence:
        why = Reason(
            "low_confidence",
            {
                "category": fields["category_code"],
                "confidence": round(annotation.confidence, 4),
                "threshold": min_confidence,
                "alternatives": [[code, round(p, 4)] for code, p in annotation.alternatives],
            },
        )
        fields.update(routing_reason_fields(why))
        fields["triage_reason"] = "low_confidence"
        return outcome
    decision = table.decide(
        category_code=fields["category_code"],
        district_code=fields["district_code"],
        on=local(appeal.received_at).date(),
        place_text=f"{appeal.address or ''} {appeal.text}",
    )
    fields.update(routing_reason_fields(decision.why))
    fields["routing_rule_id"] = decision.rule_id
    if decision.routed:
        fields["organization_id"] = decision.organization_id
        outcome.steps.append((Status.ASSIGNED, decision.why, decision.organization_id))
    else:
        fields["triage_reason"] = decision.triage_reason
    return outcome


def process_batch(
    session: Session, *, limit: int = DEFAULT_BATCH, appeal_ids: Sequence[int] | None = None
) -> list[int]:
    """Process up to ``limit`` pending appeals (or just ``appeal_ids``); returns their ids."""
    query = (
        select(*_INPUT_COLUMNS)
        .where(Appeal.status == Status.RECEIVED)
        .order_by(Appeal.id)
        .limit(limit)
    )
    if appeal_ids is not None:
        query = query.where(Appeal.id.in_(appeal_ids))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    # The rules as of now, held until this batch commits (issue 20): an admin's change in
    # another process waits for these decisions or they wait for it, never a superseded rule.
    # Taken before the claim, so a batch never holds appeals while it waits for a change.
    table = routing_table(session, hold=True)
    policy = deadline_policy(session)
    pending = session.execute(query).all()
    if not pending:
        return []
    lexicon = load_lexicon(get_settings().data_dir)  # cached per data directory
    settings = get_settings()
    ensure_current(session, settings)  # the topic model every machine serves (object storage)
    annotations = annotate_batch(
        [appeal.text for appeal in pending],
        lexicon,
        use_natasha=settings.nlp_use_natasha,
        addresses=[appeal.address for appeal in pending],
        points=[_point(appeal) for appeal in pending],
        learned=learned_snapshot(session),  # places confirmed in this city (issue 19)
    )
    outcomes = [
        decide_outcome(
            appeal,
            lexicon=lexicon,
            policy=policy,
            table=table,
            min_confidence=settings.routing_min_confidence,
            annotation=annotation,
        )
        for appeal, annotation in zip(pending, annotations, strict=True)
    ]
    apply_system_outcomes(session, outcomes)
    _store_classifications(session, [appeal.id for appeal in pending], annotations)
    registered = [
        outcome.appeal_id
        for outcome in outcomes
        if any(step[0] is Status.REGISTERED for step in outcome.steps)
    ]
    link_appeals(session, registered)
    # An emergency does not wait for the deadline sweep: the organization and the inspectors
    # hear of it in their inbox, written in this transaction (seen once it commits).
    notify_urgent(session, registered)
    return [outcome.appeal_id for outcome in outcomes]


def _store_classifications(
    session: Session, appeal_ids: Sequence[int], annotations: Sequence[Annotation]
) -> None:
    """What the classifier said, with the model version: one INSERT for the batch."""
    version = _model_version() if any(a.topic_source == "model" for a in annotations) else None
    moment = now()
    rows = [
        {
            "appeal_id": appeal_id,
            "source": annotation.topic_source,
            "model_version": version if annotation.topic_source == "model" else None,
            "category_code": annotation.category_code,
            "confidence": annotation.confidence,
            "alternatives": [[code, p] for code, p in annotation.alternatives],
            "language": annotation.language,
            "district_code": annotation.district_code,
            "district_evidence": (annotation.district_evidence or "")[:200] or None,
            "district_source": annotation.district_source,
            "urgency_triggers": annotation.urgency_triggers,
            "not_appeal": annotation.not_appeal,
            "at": moment,
        }
        for appeal_id, annotation in zip(appeal_ids, annotations, strict=True)
    ]
    if rows:
        session.execute(insert(table_of(AppealClassification)), rows)


def _point(appeal: Any) -> tuple[float, float] | None:
    """The appeal's map pin (a bot's location, the portal's pin), when it has one."""
    if appeal.latitude is None or appeal.longitude is None:
        return None
    return (float(appeal.latitude), float(appeal.longitude))


def _model_version() -> str | None:
    from nlp import topic

    try:
        return topic.get_model().metadata.version
    except Exception:  # the annotations already fell back; the version is only a label
        return None


def process(session: Session, appeal_id: int) -> Appeal | None:
    """One appeal (tests, re-processing by hand): the same steps as a batch of one."""
    process_batch(session, appeal_ids=[appeal_id])
    return session.get(Appeal, appeal_id, populate_existing=True)
