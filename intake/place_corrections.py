"""A person confirms or corrects an appeal's district; the city learns from it (issue 19).

Like the category (``intake.corrections``): an operator, inspector or admin who sets the
district an appeal is in writes a ``district_corrections`` row (the same district is a
confirmation, as much evidence as a correction), the appeal takes the district, and one
waiting in triage is routed by the rules for its category in that district through the named
``route`` action, the rule's decision as the cause. An executor of a district akimat may say
it too (their word is evidence); moving the appeal stays the send-back or forward action.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal
from appeals.transitions import set_routing_reason
from core.clock import local, now
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from intake.place_models import DistrictCorrection
from routing import forwarding
from routing.models import District, Organization, OrganizationKind
from routing.service import routing_table

CORRECTING_ROLES = frozenset({Role.OPERATOR, Role.INSPECTOR, Role.ADMIN})
SOURCES = frozenset({"staff", "console", "executor"})


def _may_correct(session: Session, user: StaffUser) -> bool:
    if user.role in CORRECTING_ROLES:
        return True
    if user.role is Role.EXECUTOR and user.organization_id is not None:
        organization = session.get(Organization, user.organization_id)
        return organization is not None and organization.kind is OrganizationKind.DISTRICT_AKIMAT
    return False


def correct_district(
    session: Session,
    appeal: Appeal,
    *,
    user: StaffUser,
    district_code: str,
    reason: str | None = None,
    route: bool = True,
) -> DistrictCorrection:
    """Set (or confirm) the appeal's district, keep the row as evidence and, for an appeal in
    triage, route it. The same district as now is a confirmation, unless a person already
    said so."""
    if not _may_correct(session, user):
        raise PermissionDenied(
            f"a {user.role.value} may not change an appeal's district", code="role_not_allowed"
        )
    if session.get(District, district_code) is None:
        raise ValidationFailed(f"unknown district {district_code!r}", code="unknown_district")
    if district_code == appeal.district_code and district_decided_by_person(session, appeal):
        raise ValidationFailed("a person has already set this district", code="same_district")
    correction = DistrictCorrection(
        appeal_id=appeal.id,
        from_district=appeal.district_code,
        to_district=district_code,
        source="executor" if user.role is Role.EXECUTOR else "staff",
        reason=(reason or "").strip(),
        corrected_by_id=user.id,
        at=now(),
    )
    session.add(correction)
    appeal.district_code = district_code
    appeal.updated_at = now()
    session.flush()
    in_triage = (
        appeal.status in (Status.REGISTERED, Status.REOPENED) and appeal.organization_id is None
    )
    if route and in_triage and user.role in CORRECTING_ROLES and appeal.category_code:
        decision = routing_table(session).decide(
            category_code=appeal.category_code,
            district_code=district_code,
            on=local(now()).date(),
            place_text=f"{appeal.address or ''} {appeal.text}",
        )
        if decision.routed and decision.organization_id is not None:
            forwarding.route(
                session,
                appeal,
                user=user,
                organization_id=decision.organization_id,
                reason=correction.reason or None,
                because=decision.why,
            )
            appeal.routing_rule_id = decision.rule_id
        else:
            appeal.triage_reason = decision.triage_reason
            set_routing_reason(appeal, decision.why)
        session.flush()
    return correction


def record_operator_district(
    session: Session, appeal: Appeal, *, user: StaffUser, suggested: str | None
) -> DistrictCorrection | None:
    """The district a call-center operator filed an appeal with, against what the gazetteer
    suggested for its text: evidence either way. Nothing when no district was chosen."""
    if appeal.district_code is None:
        return None
    correction = DistrictCorrection(
        appeal_id=appeal.id,
        from_district=suggested,
        to_district=appeal.district_code,
        source="console",
        reason="",
        corrected_by_id=user.id,
        at=now(),
    )
    session.add(correction)
    session.flush()
    return correction


def district_decided_by_person(session: Session, appeal: Appeal) -> bool:
    latest = session.scalar(
        select(DistrictCorrection.to_district)
        .where(DistrictCorrection.appeal_id == appeal.id)
        .order_by(DistrictCorrection.at.desc(), DistrictCorrection.id.desc())
        .limit(1)
    )
    return latest is not None and latest == appeal.district_code


def district_corrections_of(session: Session, appeal_id: int) -> list[DistrictCorrection]:
    query = (
        select(DistrictCorrection)
        .where(DistrictCorrection.appeal_id == appeal_id)
        .order_by(DistrictCorrection.id)
    )
    return list(session.scalars(query))
