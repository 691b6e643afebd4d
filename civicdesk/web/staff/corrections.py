"""The staff appeal page's category form: an operator, inspector or admin changes the topic,
or confirms the one the classifier guessed; either is kept as training data.

Thin: ``intake.corrections`` decides (roles, known category, routing of an appeal in
triage); the page's context comes from ``civicdesk.web.staff.category_panel``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from civicdesk.web.rendering import page_language, redirect
from civicdesk.web.staff.pages import _appeal_or_none, _detail_page
from civicdesk.web.staff_auth import StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page
from core.api_deps import DbSession
from core.errors import DomainError, ValidationFailed
from intake import corrections

router = APIRouter(include_in_schema=False)


@router.post("/staff/appeals/{appeal_id}/category", name="staff_appeal_category")
def change_category(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    csrf: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Change or confirm the category from the appeal page, then back to it."""
    language = page_language(request)
    if not csrf_ok(request, csrf):
        return staff_error_page(
            request, session, user, language=language, status_code=403,
            message_key="staff_error.csrf",
        )  # fmt: skip
    appeal = _appeal_or_none(session, user, appeal_id)
    if appeal is None:
        return staff_error_page(
            request, session, user, language=language, status_code=404,
            message_key="staff_error.not_found",
        )  # fmt: skip
    try:
        if not category.strip():
            raise ValidationFailed("choose the category", code="category_required")
        correction = corrections.correct_category(
            session,
            appeal,
            user=user,
            category_code=category.strip(),
            reason=reason.strip()[:1000] or None,
        )
    except DomainError as error:
        session.rollback()  # nothing of a refused change may be committed
        reloaded = _appeal_or_none(session, user, appeal_id)
        if reloaded is None:
            return staff_error_page(
                request, session, user, language=language, status_code=404,
                message_key="staff_error.not_found",
            )  # fmt: skip
        return _detail_page(
            request,
            session,
            user,
            reloaded,
            language=language,
            error=error,
            status_code=error.http_status,
            form_values={"action": "category", "category": category, "reason": reason},
        )
    done = "category_confirm" if correction.confirms else "category_correct"
    return redirect(f"/staff/appeals/{appeal.id}?done={done}", private=True)
