"""Staff pages: the appeal list, one appeal with its history, and the action forms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from appeals import access
from appeals.lifecycle import ACTIONS, REJECTION_REASONS, Status, status_label
from appeals.models import Appeal
from appeals.reasons import stored
from appeals.search import search
from appeals.views import audit_contact_revealed, policy_for, staff_view
from civicdesk import appeal_actions
from civicdesk.web.confidence import confidence_level
from civicdesk.web.lookups import (
    appeal_type_name,
    category_names,
    district_names,
    organization_codes,
    organization_names,
    route_targets,
    staff_names,
)
from civicdesk.web.rendering import page_language, redirect, render, templates
from civicdesk.web.staff.category_panel import CATEGORY_FORMS, category_panel
from civicdesk.web.staff.presenters import (
    TABS,
    appeal_row,
    available_actions,
    default_tab,
    due_state,
    route_target,
    tabs_for,
)
from civicdesk.web.staff.reasons import Labels, render_stored
from civicdesk.web.staff.reasons import render as render_reason
from civicdesk.web.staff.rework import previous_answer, rework_notice
from civicdesk.web.staff.routing_panel import routing_panel
from civicdesk.web.staff.search_form import marked, read_filters
from civicdesk.web.staff_auth import HOME_PATH, StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from civicdesk.web.texts import has, t
from core.api_deps import DbSession
from core.clock import ALMATY, local, now
from core.errors import DomainError, NotFound, ValidationFailed
from core.models import Role, StaffUser
from routing import coexecutors
from routing.service import organization_by_code
from sla.service import deadline_policy

router = APIRouter(include_in_schema=False)
templates.env.globals["confidence_level"] = confidence_level

#: History codes of clock events (the status stayed): the row says which.
_CLOCK_CODES: Final = {"clock_paused": "paused", "clock_resumed": "resumed"}

PAGE_SIZE = 50
MAX_PAGE = 100_000
#: An extension's new date means the end of that working day in Almaty.
EXTENSION_END_OF_DAY = time(18, 0)
#: The co-executor forms; like ACTIONS, each has ``action.<name>`` and ``done.<name>`` texts.
CO_EXECUTOR_FORMS: Final = ("co_executor_add", "co_executor_remove", "co_executor_answer")


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    who: str
    from_label: str
    to_label: str
    reason: str  # in the page's language (``civicdesk.web.staff.reasons``)
    organization: str
    clock: str = ""  # "paused" or "resumed": a clock event, the status stayed


@dataclass(frozen=True)
class PartRow:
    """One co-executor on the appeal page."""

    organization_code: str
    organization: str
    part: str
    state: str
    answer: str | None
    answered_at: datetime | None
    ended_at: datetime | None
    mine: bool


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def parse_new_due(value: str) -> datetime | None:
    """'2026-03-20' → 18:00 that day in Almaty (when the reception closes), as an aware datetime."""
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("the new due date must be YYYY-MM-DD", code="bad_date") from None
    return datetime.combine(day, EXTENSION_END_OF_DAY, tzinfo=ALMATY)


@router.get("/staff", name="staff_home")
def staff_home(user: StaffUserDep) -> Response:
    return redirect(HOME_PATH, private=True)


@router.get("/staff/appeals", name="staff_appeals")
def appeal_list(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    tab: str = "",
    page: str = "1",
    done: str = "",
) -> Response:
    language = page_language(request)
    tabs = tabs_for(user)
    if tab not in tabs:
        tab = default_tab(user)
    page_number = min(max(_int_or_none(page) or 1, 1), MAX_PAGE)
    categories = category_names(session, language)
    districts = district_names(session, language)
    organizations = organization_names(session, language)
    filters, form = read_filters(
        dict(request.query_params),
        user=user,
        language=language,
        organizations=organization_codes(session, language),
        districts=districts,
        categories=categories,
    )
    highlights: dict[int, str] = {}
    capped = False
    if form.active:
        # A status chosen in the form narrows the whole list; otherwise the tab's statuses.
        found = search(
            session,
            user=user,
            filters=replace(
                filters,
                statuses=filters.statuses or TABS[tab],
                triage=tab == "triage" and not filters.statuses,
            ),
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        appeals, total, capped = found.appeals, found.total, found.capped
        highlights = found.highlights
    else:
        appeals, total = access.list_for_staff(
            session,
            user=user,
            statuses=list(TABS[tab]) or None,
            triage=tab == "triage",
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
    moment = now()
    rows = [
        (
            appeal_row(
                appeal,
                language=language,
                moment=moment,
                categories=categories,
                districts=districts,
                text_masks=policy_for(user.role).text_masks,
            ),
            organizations.get(appeal.organization_id or 0, ""),
        )
        for appeal in appeals
    ]
    last_page = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "staff/list.html",
        language=language,
        private=True,
        tabs=tabs,
        tab=tab,
        rows=rows,
        total=total,
        page=page_number,
        last_page=last_page,
        first_shown=(page_number - 1) * PAGE_SIZE + 1 if rows else 0,
        last_shown=(page_number - 1) * PAGE_SIZE + len(rows),
        show_organization=user.role is not Role.EXECUTOR,
        # An executor sees an appeal another organization leads only as its co-executor.
        co_executed=(
            {appeal.id for appeal in appeals if appeal.organization_id != user.organization_id}
            if user.role is Role.EXECUTOR
            else set()
        ),
        flash=f"done.{done}" if done in ACTIONS else None,
        form=form,
        capped=capped,
        # A highlight is raw text around the match: not for a role whose text is masked.
        highlights=(
            {}
            if policy_for(user.role).text_masks
            else {key: marked(value) for key, value in highlights.items()}
        ),
        **staff_frame(request, session, user, language),
    )


def _detail_page(
    request: Request,
    session: Session,
    user: StaffUser,
    appeal: Appeal,
    *,
    language: str,
    flash: str | None = None,
    error: DomainError | None = None,
    form_values: dict[str, str] | None = None,
    status_code: int = 200,
    revealed: bool = False,
) -> Response:
    # Personal data as the role allows (appeals.views.POLICIES); "show contact" reveals it.
    view = staff_view(appeal, role=user.role, revealed=revealed)
    organizations = organization_names(session, language)
    actors = staff_names(
        session, {change.actor_id for change in appeal.history if change.actor_id is not None}
    )
    labels = Labels.load(session, language)
    history = []
    for change in appeal.history:
        why = stored(change.reason_code, change.reason_params, change.reason, change.to_status)
        history.append(
            HistoryRow(
                at=change.at,
                who=(
                    actors.get(change.actor_id, t("actor.staff", language))
                    if change.actor_id is not None
                    else t(f"actor.{change.actor_kind}", language)
                ),
                from_label=status_label(change.from_status, language) if change.from_status else "",
                to_label=status_label(change.to_status, language),
                reason=render_reason(why, labels) if why is not None else change.reason,
                organization=organizations.get(change.organization_id or 0, ""),
                clock=_CLOCK_CODES.get(why.code, "") if why is not None else "",
            )
        )
    names = available_actions(user, appeal)
    rework = rework_notice(appeal, language)
    error_key = f"staff_error.{error.code}" if error is not None else None
    moment = local(now())
    co_executor_context = _co_executor_context(session, user, appeal, language, names)
    return render(
        request,
        "staff/appeal.html",
        language=language,
        status_code=status_code,
        private=True,
        appeal=view,
        rework=rework,
        rework_by=(
            actors.get(rework.actor_id, "") if rework and rework.actor_id is not None else ""
        ),
        routing_reason=render_stored(
            appeal.routing_reason_code,
            appeal.routing_reason_params,
            appeal.routing_reason,
            labels,
        ),
        status_label=lambda status: status_label(status, language),
        due_state=due_state(appeal, now()),
        category=category_names(session, language).get(
            view.category_code or "", view.category_code
        ),
        district=district_names(session, language).get(
            view.district_code or "", view.district_code
        ),
        organization=organizations.get(view.organization_id or 0),
        history=history,
        actions=names,
        route_options=(
            route_targets(session, language, exclude_id=appeal.organization_id)
            if "route" in names
            else []
        ),
        route_forwards=route_target(appeal) is Status.FORWARDED,
        rejection_reasons=REJECTION_REASONS,
        may_reveal=policy_for(user.role).may_reveal and bool(view.citizen_phone),
        revealed=revealed,
        contact_hidden=not policy_for(user.role).name,
        # The Law on Languages: the answer in the appeal's language (or the state language).
        reply_language="kk" if appeal.language == "kk" else "ru",
        appeal_type=appeal_type_name(view.appeal_type, language) if view.appeal_type else None,
        min_due=(moment + timedelta(days=1)).date().isoformat(),
        max_due=(
            local(deadline_policy().max_extended_due(appeal.received_at)).date().isoformat()
            if "extend" in names
            else ""
        ),
        flash=flash,
        error_text=(t(error_key, language) if error_key and has(error_key) else None),
        error_detail=error.message if error is not None else None,
        form_values=form_values or {},
        **co_executor_context,
        **routing_panel(session, appeal, language=language, actions=names),
        **category_panel(session, user, appeal, language=language),
        **staff_frame(request, session, user, language),
    )


def _co_executor_context(
    session: Session, user: StaffUser, appeal: Appeal, language: str, names: list[str]
) -> dict[str, Any]:
    """The co-executors table and its forms: who may add or remove, whose part is whose."""
    views = coexecutors.part_views(session, appeal.id)
    own = user.organization_id if user.role is Role.EXECUTOR else None
    rows = [
        PartRow(
            organization_code=view.organization.code,
            organization=view.organization.name(language),
            part=view.assignment.part or "",
            state=view.state,
            answer=view.assignment.answer_text,
            answered_at=view.assignment.answered_at,
            ended_at=view.assignment.ended_at,
            mine=own is not None
            and view.organization.id == own
            and view.assignment.ended_at is None,
        )
        for view in views
    ]
    is_open = coexecutors.is_open(appeal)
    manage = is_open and appeal.organization_id is not None and coexecutors.may_manage(user, appeal)
    # Organizations already on the appeal (open parts) are not offered again.
    taken = {row.organization_code for row in rows if row.ended_at is None}
    options = (
        [
            option
            for option in route_targets(session, language, exclude_id=appeal.organization_id)
            if option.value not in taken
        ]
        if manage
        else []
    )
    pending = sum(1 for row in rows if row.state == "pending")
    return {
        "co_parts": rows,
        "co_manage": manage,
        "co_options": options,
        "co_my_part": next((row for row in rows if row.mine), None) if is_open else None,
        "co_pending": pending,
        "answer_draft": (
            # A returned or reopened answer is the start of the new one (issue 14, item 4);
            # else a draft of co-executors' parts, headed in the citizen's language.
            (
                previous_answer(appeal)
                or coexecutors.combined_answer(
                    session, appeal, language="kk" if appeal.language == "kk" else "ru"
                )
            )
            if "answer" in names and (previous_answer(appeal) or not appeal.answer_text)
            else ""
        ),
        "answer_previous": "answer" in names and bool(previous_answer(appeal)),
    }


def _appeal_or_none(session: Session, user: StaffUser, appeal_id: str) -> Appeal | None:
    """The appeal if this user may see it; None for a bad id, a missing one or another org's."""
    number = _int_or_none(appeal_id)
    if number is None:
        return None
    try:
        return access.get_for_staff(session, user=user, appeal_id=number)
    except NotFound:
        return None


@router.get("/staff/appeals/{appeal_id}", name="staff_appeal")
def appeal_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    done: str = "",
) -> Response:
    language = page_language(request)
    appeal = _appeal_or_none(session, user, appeal_id)
    if appeal is None:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=404,
            message_key="staff_error.not_found",
        )
    known = done in ACTIONS or done in CO_EXECUTOR_FORMS or done in CATEGORY_FORMS
    flash = f"done.{done}" if known else None
    return _detail_page(request, session, user, appeal, language=language, flash=flash)


@router.post("/staff/appeals/{appeal_id}/contact", name="staff_appeal_contact")
def reveal_contact(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The appeal page with the citizen's phone and the texts unmasked (logged)."""
    language = page_language(request)
    appeal = _appeal_or_none(session, user, appeal_id)
    if appeal is None or not csrf_ok(request, csrf) or not policy_for(user.role).may_reveal:
        key = "staff_error.not_found" if appeal is None else "staff_error.csrf"
        status = 404 if appeal is None else 403
        return staff_error_page(
            request, session, user, language=language, status_code=status, message_key=key
        )
    audit_contact_revealed(user, appeal.id)
    return _detail_page(request, session, user, appeal, language=language, revealed=True)


@router.post("/staff/appeals/{appeal_id}/actions/{action}", name="staff_appeal_action")
def appeal_action(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    action: str,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    organization_code: Annotated[str, Form()] = "",
    new_due: Annotated[str, Form()] = "",
    rejection_reason: Annotated[str, Form()] = "",
) -> Response:
    """Run one named action from its form; the service checks role, organization and status."""
    language = page_language(request)
    if not csrf_ok(request, csrf):
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key="staff_error.csrf",
        )
    appeal = _appeal_or_none(session, user, appeal_id)
    if appeal is None:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=404,
            message_key="staff_error.not_found",
        )
    try:
        appeal_actions.perform(
            session,
            appeal,
            user=user,
            action=action,
            reason=reason.strip() or None,
            text=text.strip() or None,
            organization_code=organization_code.strip() or None,
            new_due=parse_new_due(new_due) if action == "extend" else None,
            rejection_reason=rejection_reason.strip() or None,
        )
    except DomainError as error:
        # Nothing of a refused action may be committed by the request's transaction.
        session.rollback()
        reloaded = _appeal_or_none(session, user, appeal_id)
        if reloaded is None:
            return staff_error_page(
                request,
                session,
                user,
                language=language,
                status_code=404,
                message_key="staff_error.not_found",
            )
        appeal = reloaded
        return _detail_page(
            request,
            session,
            user,
            appeal,
            language=language,
            error=error,
            status_code=error.http_status,
            form_values={
                "action": action,
                "reason": reason,
                "text": text,
                "organization_code": organization_code,
                "new_due": new_due,
                "rejection_reason": rejection_reason,
            },
        )
    if access.can_view(user, appeal):
        return redirect(f"/staff/appeals/{appeal.id}?done={action}", private=True)
    # An executor who sent an appeal back no longer sees it: back to their list.
    return redirect(f"{HOME_PATH}?done={action}", private=True)


# --- co-executors ------------------------------------------------------------------------


def _co_executor_form(
    request: Request,
    session: Session,
    user: StaffUser,
    appeal_id: str,
    *,
    csrf: str,
    form: str,
    form_values: dict[str, str],
    change: Callable[[Appeal], object],
) -> Response:
    """One co-executor form post: the CSRF check, the appeal, the service, then back to it."""
    language = page_language(request)
    if not csrf_ok(request, csrf):
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=403,
            message_key="staff_error.csrf",
        )
    appeal = _appeal_or_none(session, user, appeal_id)
    if appeal is None:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=404,
            message_key="staff_error.not_found",
        )
    try:
        change(appeal)
    except DomainError as error:
        session.rollback()
        reloaded = _appeal_or_none(session, user, appeal_id)
        if reloaded is None:
            return staff_error_page(
                request,
                session,
                user,
                language=language,
                status_code=404,
                message_key="staff_error.not_found",
            )
        return _detail_page(
            request,
            session,
            user,
            reloaded,
            language=language,
            error=error,
            status_code=error.http_status,
            form_values={"action": form, **form_values},
        )
    return redirect(f"/staff/appeals/{appeal.id}?done={form}", private=True)


@router.post("/staff/appeals/{appeal_id}/co-executors", name="staff_co_executor_add")
def co_executor_add(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    csrf: Annotated[str, Form()] = "",
    organization_code: Annotated[str, Form()] = "",
    part: Annotated[str, Form()] = "",
) -> Response:
    """Operators, inspectors, admins and the lead's executors add a co-executor with its part."""

    def change(appeal: Appeal) -> object:
        if not organization_code.strip():
            raise ValidationFailed("choose the organization", code="organization_required")
        organization = organization_by_code(session, organization_code.strip())
        return coexecutors.add_co_executor(
            session, appeal, organization_id=organization.id, part=part, by=user
        )

    return _co_executor_form(
        request,
        session,
        user,
        appeal_id,
        csrf=csrf,
        form="co_executor_add",
        form_values={"organization_code": organization_code, "part": part},
        change=change,
    )


@router.post(
    "/staff/appeals/{appeal_id}/co-executors/{organization_code}/remove",
    name="staff_co_executor_remove",
)
def co_executor_remove(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    organization_code: str,
    csrf: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    def change(appeal: Appeal) -> object:
        organization = organization_by_code(session, organization_code)
        return coexecutors.remove_co_executor(
            session, appeal, organization_id=organization.id, by=user, reason=reason
        )

    return _co_executor_form(
        request,
        session,
        user,
        appeal_id,
        csrf=csrf,
        form="co_executor_remove",
        form_values={"organization_code": organization_code, "reason": reason},
        change=change,
    )


@router.post(
    "/staff/appeals/{appeal_id}/co-executors/{organization_code}/answer",
    name="staff_co_executor_answer",
)
def co_executor_answer(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    appeal_id: str,
    organization_code: str,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    """A co-executor's executor answers (or revises) their organization's part."""

    def change(appeal: Appeal) -> object:
        organization = organization_by_code(session, organization_code)
        return coexecutors.answer_part(
            session, appeal, user=user, text=text, organization_id=organization.id
        )

    return _co_executor_form(
        request,
        session,
        user,
        appeal_id,
        csrf=csrf,
        form="co_executor_answer",
        form_values={"organization_code": organization_code, "text": text},
        change=change,
    )
