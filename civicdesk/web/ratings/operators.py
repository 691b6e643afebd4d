"""The call-center supervisors' page: operators' IVR ratings, the satisfaction index per
operator and per queue, calls handled, AHT and the quick-answer share, over a period.

Admins, analysts and inspectors see every operator; an operator sees their own row.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from civicdesk.ratings_operators import supervisor_view
from civicdesk.web.ratings.common import Url, chosen_period, period_params
from civicdesk.web.ratings.pages import LEADERSHIP, DateText, Text, page_context, problem_page
from civicdesk.web.rendering import page_language, render
from civicdesk.web.staff_auth import StaffUserDep
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from core.api_deps import DbSession
from core.clock import now
from core.errors import ValidationFailed
from core.models import Role
from ratings import ranking
from ratings.satisfaction import target_for

router = APIRouter(include_in_schema=False)

OPERATORS_PATH: Final = "/staff/ratings/operators"


@router.get(OPERATORS_PATH, name="ratings_operators")
def operators_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    period: Text = "",
    at: Text = "",
    from_: DateText = "",
    to: Text = "",
) -> Response:
    language = page_language(request)
    if user.role not in LEADERSHIP and user.role is not Role.OPERATOR:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key="rt.problem.role_not_allowed",
            active="ratings",
        )
    raw = {"period": period, "at": at, "from": from_, "to": to}
    try:
        chosen = chosen_period(raw)
    except ValidationFailed as error:
        return problem_page(request, session, user, language, error)
    view = supervisor_view(
        session,
        start=chosen.start_at,
        stop=min(chosen.end_at, now()),
        operator_id=user.id if user.role is Role.OPERATOR else None,
    )
    context = page_context(chosen, None, language)
    context["url"] = Url(OPERATORS_PATH, period_params(chosen))
    return render(
        request,
        "ratings/operators.html",
        language=language,
        private=True,
        view=view,
        target=target_for(ranking.methodology(), chosen),
        **context,
        **staff_frame(request, session, user, language, active="ratings"),
    )
