"""The public view of an appeal: what anyone with its tracking number may see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from appeals.lifecycle import ANSWER_VISIBLE, status_label
from appeals.models import Appeal
from appeals.schemas import PublicAppealView
from routing.models import Category, Organization


def public_view(session: Session, appeal: Appeal, language: str) -> PublicAppealView:
    """Status, dates, organization and the approved answer: no contact data, no text."""
    organization = (
        session.get(Organization, appeal.organization_id) if appeal.organization_id else None
    )
    category = session.get(Category, appeal.category_code) if appeal.category_code else None
    visible = appeal.status in ANSWER_VISIBLE
    return PublicAppealView(
        tracking_number=appeal.tracking_number,
        status=appeal.status,
        status_label=status_label(appeal.status, language),
        received_at=appeal.received_at,
        registered_on=appeal.registered_on,
        due_at=appeal.due_at,
        category=category.name(language) if category else None,
        organization=organization.name(language) if organization else None,
        answer=appeal.answer_text if visible else None,
        answered_at=appeal.answered_at if visible else None,
    )
