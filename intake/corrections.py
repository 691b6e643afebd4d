"""Operators' corrections of an appeal's category: the appeal moves on, the model learns.

An operator or inspector who decides that an appeal is about something else
than the classifier (or the citizen) said calls ``correct_category``. The
category changes, a ``category_corrections`` row keeps the text as it was with
the old and new category (training data for ``intake.nlp_training``), and an
appeal waiting in triage is routed by the rules for its new category, through
the named ``route`` action, so the history says who sent it where and why.

Choosing the category the machine guessed is a *confirmation* (a row with the same
category before and after): an unsure guess a person vouched for is as good a training
example as a correction, and the appeal in triage is routed. The call-center form records
the operator's category against the classifier's suggestion the same way
(``record_operator_choice``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from appeals.reasons import Reason
from appeals.transitions import set_routing_reason
from core.clock import local, now
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from intake.nlp_models import CategoryCorrection
from routing import forwarding
from routing.models import Category
from routing.service import routing_table

CORRECTING_ROLES = frozenset({Role.OPERATOR, Role.INSPECTOR, Role.ADMIN})


def correct_category(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    category_code: str,
    reason: str | None = None,
    route: bool = True,
) -> CategoryCorrection:
    """Change (or confirm) the category, store the correction and, for an appeal in
    triage, route it.

    The same category as now is a confirmation, unless a person already set it. An appeal
    already with an organization keeps it: forwarding stays a deliberate ``route`` action
    with its own reason.
    """
    if user.role not in CORRECTING_ROLES:
        raise PermissionDenied(
            f"a {user.role.value} may not change an appeal's category", code="role_not_allowed"
        )
    if session.get(Category, category_code) is None:
        raise ValidationFailed(f"unknown category {category_code!r}", code="unknown_category")
    if category_code == appeal.category_code and decided_by_person(session, appeal):
        raise ValidationFailed("a person has already set this category", code="same_category")
    why = (reason or "").strip()
    correction = CategoryCorrection(
        appeal_id=appeal.id,
        from_category=appeal.category_code,
        to_category=category_code,
        text=appeal.text,
        confidence=appeal.category_confidence,
        reason=why,
        corrected_by_id=user.id,
        at=now(),
    )
    session.add(correction)
    appeal.category_code = category_code
    appeal.category_confidence = 1.0  # a person decided
    appeal.updated_at = now()
    session.flush()
    in_triage = (
        appeal.status in (Status.REGISTERED, Status.REOPENED) and appeal.organization_id is None
    )
    if route and in_triage:
        decision = routing_table(session).decide(
            category_code=category_code,
            district_code=appeal.district_code,
            on=local(now()).date(),
            place_text=f"{appeal.address or ''} {appeal.text}",
        )
        if decision.routed and decision.organization_id is not None:
            because = Reason(
                "category_set",
                {
                    "category": category_code,
                    "confirmed": correction.confirms,
                    "decision": decision.why.as_dict(),
                },
            )
            forwarding.route(
                session,
                appeal,
                user=user,
                organization_id=decision.organization_id,
                reason=because.english(),
                because=because,
            )
            appeal.routing_rule_id = decision.rule_id
        else:
            appeal.triage_reason = decision.triage_reason
            set_routing_reason(
                appeal,
                Reason(
                    "category_triage",
                    {
                        "category": category_code,
                        "confirmed": correction.confirms,
                        "role": user.role.value,
                        "decision": decision.why.as_dict(),
                    },
                ),
            )
        session.flush()
    return correction


def decided_by_person(session: Session, appeal: Appeal) -> bool:
    """Whether a person already set (or confirmed) the appeal's current category."""
    latest = session.scalar(
        select(CategoryCorrection.to_category)
        .where(CategoryCorrection.appeal_id == appeal.id)
        .order_by(CategoryCorrection.at.desc(), CategoryCorrection.id.desc())
        .limit(1)
    )
    return latest is not None and latest == appeal.category_code


def record_operator_choice(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    suggested: str | None,
    confidence: float | None,
    reason: str,
) -> CategoryCorrection | None:
    """The category an operator filed an appeal with, against what the classifier suggested
    for its text: a correction when they differ, a confirmation when they agree — training
    data either way. Nothing when the appeal has no category."""
    if appeal.category_code is None:
        return None
    correction = CategoryCorrection(
        appeal_id=appeal.id,
        from_category=suggested,
        to_category=appeal.category_code,
        text=appeal.text,
        confidence=confidence,
        reason=reason,
        corrected_by_id=user.id,
        at=now(),
    )
    session.add(correction)
    session.flush()
    return correction


def corrections_for_training(session: Session) -> tuple[list[str], list[str]]:
    """(texts, categories) of every corrected appeal; the latest correction of an appeal wins."""
    rows = session.execute(
        select(
            CategoryCorrection.appeal_id, CategoryCorrection.text, CategoryCorrection.to_category
        ).order_by(CategoryCorrection.at, CategoryCorrection.id)
    ).all()
    latest: dict[int, tuple[str, str]] = {}
    for appeal_id, text, category in rows:
        latest[appeal_id] = (text, category)
    return [text for text, _ in latest.values()], [category for _, category in latest.values()]


def corrections_of(session: Session, appeal_id: int) -> list[CategoryCorrection]:
    query = (
        select(CategoryCorrection)
        .where(CategoryCorrection.appeal_id == appeal_id)
        .order_by(CategoryCorrection.id)
    )
    return list(session.scalars(query))
