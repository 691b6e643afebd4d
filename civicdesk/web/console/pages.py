"""The operator console: screen-pop of the incoming call, the caller's card, the appeal form.

Server-rendered like the other staff pages and usable without JavaScript (the
form, "suggest", filing, answering on the spot, the callback); the screen-pop and
the live queue header need it: ``console.js`` listens on ``/staff/console/events``
(Server-Sent Events fed by the screen-pop bus) and swaps in ``/staff/console/panel``.
Handlers stay thin: the card, the repeat check and filing are ``channels.telephony.console``;
the call records, metrics and callbacks are ``channels.telephony``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from appeals.lifecycle import status_label
from appeals.models import Appeal
from channels.telephony import console as service
from channels.telephony.originate import request_callback
from channels.telephony.service import current_call_of, link_call_to_appeal
from civicdesk.web.confidence import confidence_level
from civicdesk.web.console.callback import CallbackStatus, callback_status
from civicdesk.web.console.callback import router as callback_router
from civicdesk.web.console.calls import (
    CallView,
    ConsoleForm,
    Suggestion,
    call_appeals,
    call_view,
    external_id,
    fresh_form,
    int_or_none,
    load_call,
)
from civicdesk.web.console.kb import router as kb_router
from civicdesk.web.console.live import CONSOLE_PATH, allowed, live_metrics, metric_cells
from civicdesk.web.console.live import router as live_router
from civicdesk.web.lookups import (
    category_groups,
    category_names,
    district_names,
    district_options,
    organization_names,
    route_targets,
)
from civicdesk.web.rendering import page_language, redirect, render, secure, templates
from civicdesk.web.staff_auth import StaffUserDep, csrf_ok
from civicdesk.web.staff_frame import staff_error_page, staff_frame
from civicdesk.web.texts import has, t
from core.api_deps import DbSession
from core.errors import Conflict, DomainError, ValidationFailed
from core.models import StaffUser
from core.settings import get_settings
from intake.repeats import identity
from routing.advice import advise

router = APIRouter(include_in_schema=False)
templates.env.globals["confidence_level"] = confidence_level
router.include_router(live_router)  # the event stream and the metrics header
router.include_router(callback_router)  # a callback's outcome, asked until it is final
router.include_router(kb_router)  # the quick-answer box's suggestions (issue 15)

INTENTS = ("suggest", "file", "quick")


# --- page context --------------------------------------------------------------------------


def _frame(request: Request, session: Session, user: StaffUser, language: str) -> dict[str, Any]:
    return staff_frame(request, session, user, language, active="console")


def _hint_texts(hints: list[service.RepeatHint], language: str) -> list[dict[str, str | int]]:
    return [
        {
            "kind": hint.kind,
            "appeal_id": hint.appeal_id,
            "text": t(
                f"console.hint.{hint.kind}",
                language,
                number=hint.tracking_number,
                status=status_label(hint.status, language),
            ),
        }
        for hint in hints
    ]


def _panel_context(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    language: str,
    call: CallView | None,
    form: ConsoleForm | None = None,
    suggestion: Suggestion | None = None,
    error: DomainError | None = None,
    flash: str | None = None,
    flash_values: dict[str, str] | None = None,
    callback: CallbackStatus | None = None,
) -> dict[str, Any]:
    """Everything the incoming-call panel and the form need; the page and the fragment share it."""
    phone = (form.phone if form and form.phone else None) or (call.caller_e164 if call else None)
    card = service.caller_card(session, phone_e164=phone)
    categories = category_names(session, language)
    latest_open = card.open_appeals[0] if card.open_appeals else None
    error_key = None
    if error is not None:
        for candidate in (
            f"console.error.{error.code}",
            f"staff_error.{error.code}",
            f"error.{error.code}",
        ):
            if has(candidate):
                error_key = candidate
                break
    return {
        "call": call,
        "card": card,
        "repeat_warning": (
            t(
                "console.caller.repeat",
                language,
                count=len(card.open_appeals),
                number=latest_open.tracking_number,
                category=categories.get(latest_open.category_code or "", "—"),
                status=status_label(latest_open.status, language),
            )
            if latest_open is not None
            else None
        ),
        "call_appeals": call_appeals(session, call),
        "categories": categories,
        "districts": district_names(session, language),
        "status_label": lambda status: status_label(status, language),
        "form": form or fresh_form(session, call, card),
        "category_groups": category_groups(
            session, language, other_label=t("form.other_area", language)
        ),
        "district_options": district_options(session, language),
        "organization_options": route_targets(session, language, exclude_id=None),
        "suggestion": suggestion,
        "error_text": t(error_key, language) if error_key else None,
        "error_detail": error.message if error is not None else None,
        "flash": flash,
        "flash_values": flash_values or {},
        "callback": callback,
    }


def _console_page(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    language: str,
    status_code: int = 200,
    **panel: Any,
) -> Response:
    settings = get_settings()
    metrics = live_metrics(session)
    return render(
        request,
        "console.html",
        language=language,
        status_code=status_code,
        private=True,
        metrics=metric_cells(metrics, language),
        metrics_refresh_s=settings.console_metrics_refresh_s,
        telephony=bool(settings.ami_host),  # without it the callback form says so up front
        **_panel_context(request, session, user, language=language, **panel),
        **_frame(request, session, user, language),
    )


def _forbidden(request: Request, session: Session, user: StaffUser, language: str) -> Response:
    return staff_error_page(
        request,
        session,
        user,
        language=language,
        status_code=403,
        message_key="console.forbidden",
        active="console",
    )


def _stale_form(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    language: str,
    call: CallView | None,
    form: ConsoleForm | None = None,
) -> Response:
    """A form posted with an old CSRF token: the console again, asking for a reload."""
    return _console_page(
        request,
        session,
        user,
        language=language,
        status_code=403,
        call=call,
        form=form,
        error=DomainError("the form is stale: reload the page", code="csrf"),
    )


def _refused(
    request: Request,
    session: Session,
    user: StaffUser,
    *,
    language: str,
    call_key: str,
    error: DomainError,
    form: ConsoleForm | None = None,
) -> Response:
    """An action the rules refused: nothing of it is kept, and the console says why."""
    session.rollback()
    return _console_page(
        request,
        session,
        user,
        language=language,
        status_code=error.http_status,
        call=load_call(session, call_key),
        form=form,
        error=error,
    )


def _back_to_console(query: str, call: CallView | None) -> Response:
    """After a POST: the console with its flash (``query``), still on the call if there is one."""
    target = f"{CONSOLE_PATH}?{query}"
    if call is not None:
        target += f"&call={call.id}"
    return redirect(target, private=True)


# --- pages ---------------------------------------------------------------------------------


@router.get(CONSOLE_PATH, name="console")
def console_page(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    call: str = "",
    filed: str = "",
    quick: str = "",
    callback: str = "",
) -> Response:
    language = page_language(request)
    if not allowed(user):
        return _forbidden(request, session, user, language)
    flash, values = _flash(session, language, filed=filed, quick=quick)
    if call:
        shown = load_call(session, call)
    else:
        # A reload (or a console without JavaScript) shows the call the operator is on now;
        # a "connected" call older than the limit is a lost Hangup, not a call.
        max_age = timedelta(seconds=get_settings().callcenter_current_call_max_s)
        current = current_call_of(session, user.id, max_age=max_age)
        shown = call_view(current) if current is not None else None
    return _console_page(
        request,
        session,
        user,
        language=language,
        call=shown,
        flash=flash,
        flash_values=values,
        callback=callback_status(session, user, int_or_none(callback), language),
    )


def _flash(
    session: Session, language: str, *, filed: str, quick: str
) -> tuple[str | None, dict[str, str]]:
    """The confirmation after a redirect: which appeal was filed and where it went."""
    appeal_id = int_or_none(filed or quick)
    appeal = session.get(Appeal, appeal_id) if appeal_id is not None else None
    if appeal is not None and appeal.submitted_by_id is not None:
        organization = (
            organization_names(session, language).get(appeal.organization_id)
            if appeal.organization_id
            else None
        )
        return ("console.done.quick" if quick else "console.done.filed"), {
            "number": appeal.tracking_number,
            "organization": organization or t("console.done.triage", language),
        }
    return None, {}


@router.get(f"{CONSOLE_PATH}/panel", name="console_panel")
def console_panel(
    request: Request, session: DbSession, user: StaffUserDep, call: str = ""
) -> Response:
    """The incoming-call panel alone, for the screen-pop to swap in."""
    language = page_language(request)
    if not allowed(user):
        return _forbidden(request, session, user, language)
    found = load_call(session, call)
    if found is None:
        response = Response(t("console.call_not_found", language), status_code=404)
        return secure(response, private=True)
    return render(
        request,
        "console_call.html",
        language=language,
        private=True,
        **_panel_context(request, session, user, language=language, call=found),
        **_frame(request, session, user, language),
    )


def _suggest(
    session: Session, form: ConsoleForm, card: service.CallerCard, language: str
) -> tuple[dict[str, Any], list[service.RepeatHint]]:
    """The routing dry run for what the operator typed, and the repeat check."""
    advice = advise(
        session,
        text=form.text,
        address=form.address.strip() or None,
        district_code=form.district_code.strip() or None,
        category_code=form.category_code.strip() or None,
        language=language,
    )
    hints = service.repeat_hint(
        session,
        card=card,
        text=form.text,
        address=form.address.strip() or None,
        category_code=advice.get("category"),
        district_code=advice.get("district"),
    )
    return advice, hints


def _apply_advice(form: ConsoleForm, advice: dict[str, Any]) -> None:
    """Fill the fields the operator left empty from the dry run; what they chose stays."""
    form.category_code = form.category_code or advice.get("category") or ""
    form.district_code = form.district_code or advice.get("district") or ""
    form.organization_code = form.organization_code or advice.get("organization_code") or ""
    form.urgency = form.urgency or advice.get("urgency") or ""
    if not form.language and advice.get("language") in ("ru", "kk"):
        form.language = str(advice["language"])


@router.post(f"{CONSOLE_PATH}/suggest", name="console_suggest")
def console_suggest(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    district_code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
) -> Response:
    """JSON for the form's "suggest" button: category, district, organization, urgency,
    language, and the repeat and duplicate hints."""
    language = page_language(request)
    if not allowed(user) or not csrf_ok(request, csrf):
        return secure(JSONResponse({"error": "forbidden"}, status_code=403), private=True)
    form = ConsoleForm(
        text=text,
        phone=phone,
        category_code=category_code,
        district_code=district_code,
        address=address,
    )
    card = service.caller_card(session, phone_e164=phone or None)
    try:
        advice, hints = _suggest(session, form, card, language)
    except DomainError as error:
        return secure(
            JSONResponse({"error": error.code, "message": error.message}, status_code=422),
            private=True,
        )
    return secure(
        JSONResponse(
            {
                "category": advice.get("category"),
                "category_name": advice.get("category_name"),
                "confidence": advice.get("confidence"),
                "district": advice.get("district"),
                "organization_code": advice.get("organization_code"),
                "organization": advice.get("organization"),
                "urgency": advice.get("urgency"),
                "language": advice.get("language"),
                "appeal_type": advice.get("appeal_type"),
                "hints": _hint_texts(hints, language),
                "note": (
                    t(
                        "console.form.suggested",
                        language,
                        confidence=t(
                            f"confidence.{confidence_level(advice.get('confidence'))}", language
                        ),
                    )
                    if advice.get("category")
                    else t("console.form.no_suggestion", language)
                ),
            }
        ),
        private=True,
    )


@router.post(f"{CONSOLE_PATH}/appeals", name="console_file")
def console_file(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    csrf: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "file",
    call: Annotated[str, Form()] = "",
    seq: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    language_field: Annotated[str, Form(alias="caller_language")] = "",
    category_code: Annotated[str, Form()] = "",
    district_code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    organization_code: Annotated[str, Form()] = "",
    urgency: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "",
    kb_article: Annotated[str, Form()] = "",
) -> Response:
    """The form's three buttons: suggest (no JavaScript), file the appeal, answered on the
    spot. Filing links the appeal to the call; the operator can file several per call."""
    language = page_language(request)
    if not allowed(user):
        return _forbidden(request, session, user, language)
    form = ConsoleForm(
        call=call,
        seq=seq,
        key=key,
        text=text,
        phone=phone,
        full_name=full_name,
        language=language_field,
        category_code=category_code,
        district_code=district_code,
        address=address,
        organization_code=organization_code,
        urgency=urgency,
        answer=answer,
    )
    found = load_call(session, call)
    if not csrf_ok(request, csrf):
        return _stale_form(request, session, user, language=language, call=found, form=form)
    if intent not in INTENTS:
        intent = "file"
    try:
        if intent == "suggest":
            card = service.caller_card(session, phone_e164=form.phone or None)
            advice, hints = _suggest(session, form, card, language)
            _apply_advice(form, advice)
            suggestion = Suggestion(
                confidence=round(float(advice.get("confidence") or 0) * 100),
                category=advice.get("category"),
                hints=[str(hint["text"]) for hint in _hint_texts(hints, language)],
            )
            return _console_page(
                request,
                session,
                user,
                language=language,
                call=found,
                form=form,
                suggestion=suggestion,
            )
        fields: dict[str, Any] = {
            "operator": user,
            "external_id": external_id(session, form, found),
            "text": form.text,
            "phone": form.phone or None,
            "full_name": form.full_name or None,
            "language": form.language or None,
            "category_code": form.category_code.strip() or None,
            "district_code": form.district_code.strip() or None,
            "address": form.address.strip() or None,
        }
        if intent == "quick":
            filed = service.answer_on_the_spot(
                session, answer=form.answer, kb_article_id=int_or_none(kb_article), **fields
            )
        else:
            filed = service.file_from_call(
                session,
                organization_code=form.organization_code.strip() or None,
                urgency=form.urgency.strip() or None,
                **fields,
            )
        if found is not None:
            link_call_to_appeal(session, call_id=found.id, appeal_id=filed.appeal_id)
    except DomainError as error:
        return _refused(
            request, session, user, language=language, call_key=call, error=error, form=form
        )
    return _back_to_console(f"{'quick' if intent == 'quick' else 'filed'}={filed.appeal_id}", found)


@router.post(f"{CONSOLE_PATH}/callback", name="console_callback")
def console_callback(
    request: Request,
    session: DbSession,
    user: StaffUserDep,
    csrf: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    call: Annotated[str, Form()] = "",
    appeal_id: Annotated[str, Form()] = "",
) -> Response:
    """Call the citizen back (AMI Originate through channels.telephony): the operator's
    phone rings first, then Asterisk dials the citizen. The callback is linked to the
    call the operator is on and to the appeal they chose; the console then follows its
    outcome (``console_callback``)."""
    language = page_language(request)
    if not allowed(user):
        return _forbidden(request, session, user, language)
    found = load_call(session, call)
    if not csrf_ok(request, csrf):
        return _stale_form(request, session, user, language=language, call=found)
    try:
        number = service.phone_or_none(phone)
        if number is None:
            raise ValidationFailed("the phone number cannot be read", code="invalid_phone")
        placed = request_callback(
            session,
            operator=user,
            phone_e164=number,
            appeal_id=int_or_none(appeal_id),
            origin_call_id=found.id if found is not None else None,
        )
        if not get_settings().ami_host:
            # Nothing would ever dial it: say so now, not after a minute of "набирается"
            # (issue 14, item 9). The request above checked the rest; _refused rolls it back.
            raise Conflict("no telephony: CIVICDESK_AMI_HOST is not set", code="no_telephony")
    except DomainError as error:
        return _refused(request, session, user, language=language, call_key=call, error=error)
    return _back_to_console(f"callback={int(placed.id)}", found)


@router.get(f"{CONSOLE_PATH}/citizens/{{citizen_id}}", name="console_citizen")
def citizen_history(
    request: Request, session: DbSession, user: StaffUserDep, citizen_id: str
) -> Response:
    """Every appeal of the person (across merged records), newest first."""
    language = page_language(request)
    if not allowed(user):
        return _forbidden(request, session, user, language)
    number = int_or_none(citizen_id)
    try:
        if number is None:
            raise ValidationFailed("not a citizen id", code="citizen_not_found")
        profile = identity.profile(session, number)
    except DomainError:
        return staff_error_page(
            request,
            session,
            user,
            language=language,
            status_code=404,
            message_key="staff_error.not_found",
            active="console",
        )
    return render(
        request,
        "console_history.html",
        language=language,
        private=True,
        profile=profile,
        categories=category_names(session, language),
        status_label=lambda value: status_label(value, language),
        **_frame(request, session, user, language),
    )
