"""The console's quick-answer box: knowledge-base suggestions as the operator types.

``GET /staff/console/kb?q=…`` renders the top 5 published articles for the words typed
(or the call's text) as a fragment the box swaps in (``console_kb.js``); each carries its
answer in the console's language, a confidence in words, and a button that inserts the
answer into "Ответ на месте" and remembers which article it was, so that "answered on the
spot" records it (``channels.telephony.console.answer_on_the_spot``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from civicdesk.web.console.live import CONSOLE_PATH, allowed
from civicdesk.web.rendering import page_language, render
from civicdesk.web.staff_auth import StaffUserDep
from core.api_deps import DbSession
from core.errors import PermissionDenied
from knowledge_base import search

router = APIRouter(include_in_schema=False)
SUGGESTIONS = 5


@router.get(f"{CONSOLE_PATH}/kb", name="console_kb")
def console_kb(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    q: Annotated[str, Query(max_length=5000)] = "",
) -> Response:
    """The suggestions fragment for the words typed (an empty list for fewer than 2 letters)."""
    if not allowed(user):
        raise PermissionDenied("the console is for operators", code="role_not_allowed")
    language = page_language(request)
    hits = search.search(session, q, language=language, k=SUGGESTIONS) if q.strip() else []
    return render(
        request, "console_kb.html", language=language, private=True, hits=hits, query=q.strip()
    )
