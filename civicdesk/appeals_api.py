"""HTTP API of the appeals for staff: the list, one appeal, and the named actions.

In the shell because an action may belong to any room (``civicdesk.appeal_actions``
hands it over) and the list filters by organization code (``routing``). Thin: the
services decide.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from appeals import access
from appeals.lifecycle import Status
from appeals.models import Channel
from appeals.schemas import ActionRequest, StaffAppealView
from appeals.search import MAX_QUERY_CHARS, SearchFilters, search
from appeals.views import audit_contact_revealed, policy_for, staff_view
from civicdesk import appeal_actions
from core.api_deps import CurrentUser, DbSession
from core.errors import PermissionDenied, ValidationFailed
from routing.service import list_categories, list_districts, organization_by_code

router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"])


@router.get("", response_model=list[StaffAppealView])
def list_appeals(
    session: DbSession,
    user: CurrentUser,
    response: Response,
    status: Annotated[list[Status] | None, Query()] = None,
    organization: str | None = None,
    triage: bool = False,
    escalated: bool = False,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    district: str | None = None,
    category: str | None = None,
    channel: Channel | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[StaffAppealView]:
    """Appeals the caller may see; an executor gets only their organization's.

    ``triage=true``: the operators' queue of unroutable appeals; ``escalated=true``:
    the inspectors' queue of ping-pong and much-moved appeals.

    ``q``: a tracking number (with or without the dash, spaces, any case), a phone, a
    citizen's name or words of the text, ranked best first (``appeals.search``);
    ``district``, ``category`` (codes), ``channel``, ``received_from``/``received_to``
    (dates in Almaty, inclusive) filter. With any of these, ``X-Total-Count`` stops
    counting at ``appeals.search.COUNT_CAP`` and ``X-Total-Capped: true`` says there are more.
    """
    organization_id = organization_by_code(session, organization).id if organization else None
    if q.strip() or district or category or channel or received_from or received_to:
        _known(session, district=district, category=category)
        if received_from and received_to and received_from > received_to:
            raise ValidationFailed("received_from is after received_to", code="bad_date_range")
        found = search(
            session,
            user=user,
            filters=SearchFilters(
                q=q,
                statuses=tuple(status or ()),
                organization_id=organization_id,
                district_code=district,
                category_code=category,
                channel=channel,
                received_from=received_from,
                received_to=received_to,
                triage=triage,
                escalated=escalated,
            ),
            limit=limit,
            offset=offset,
        )
        response.headers["X-Total-Count"] = str(found.total)
        response.headers["X-Total-Capped"] = "true" if found.capped else "false"
        return [staff_view(appeal, role=user.role) for appeal in found.appeals]
    appeals, total = access.list_for_staff(
        session,
        user=user,
        statuses=status,
        organization_id=organization_id,
        triage=triage,
        escalated=escalated,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(total)
    return [staff_view(appeal, role=user.role) for appeal in appeals]


def _known(session: DbSession, *, district: str | None, category: str | None) -> None:
    """An unknown district or category code is a typo to report, not an empty list."""
    if district and district not in {d.code for d in list_districts(session)}:
        raise ValidationFailed(f"no district {district!r}", code="unknown_district")
    if category and category not in {c.code for c in list_categories(session)}:
        raise ValidationFailed(f"no category {category!r}", code="unknown_category")


@router.get("/{appeal_id}", response_model=StaffAppealView)
def get_appeal(appeal_id: int, session: DbSession, user: CurrentUser) -> StaffAppealView:
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    return staff_view(appeal, role=user.role)


@router.post("/{appeal_id}/contact", response_model=StaffAppealView)
def reveal_contact(appeal_id: int, session: DbSession, user: CurrentUser) -> StaffAppealView:
    """The appeal with the citizen's phone and the texts unmasked, for an executor or an
    inspector who must reach the citizen; each request is logged (``civicdesk.audit``).
    Analysts get 403: they work on statistics, not people."""
    if not policy_for(user.role).may_reveal:
        raise PermissionDenied(
            "this role does not see citizens' contact data", code="role_not_allowed"
        )
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    audit_contact_revealed(user, appeal.id)
    return staff_view(appeal, role=user.role, revealed=True)


@router.post("/{appeal_id}/actions/{action}", response_model=StaffAppealView)
def act(
    appeal_id: int, action: str, body: ActionRequest, session: DbSession, user: CurrentUser
) -> StaffAppealView:
    """accept, answer, send_back, route, reject, quick_answer, reopen. (close and return are
    the review, ``/api/v1/sla/appeals/{id}/review``; extend is an extension request.)"""
    appeal = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    appeal_actions.perform(session, appeal, user=user, action=action, **body.model_dump())
    refreshed = access.get_for_staff(session, user=user, appeal_id=appeal_id)
    session.refresh(refreshed, attribute_names=["history"])
    return staff_view(refreshed, role=user.role)
