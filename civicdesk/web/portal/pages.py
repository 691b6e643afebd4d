"""The citizens' portal: file an appeal, follow its status. No sign-in; Russian and Kazakh."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from appeals import access
from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from channels import portal
from civicdesk.web.lookups import category_groups, district_options
from civicdesk.web.portal import rating
from civicdesk.web.rendering import page_language, redirect, render
from civicdesk.web.texts import has, t
from core.api_deps import DbSession
from core.errors import DomainError, NotFound
from core.settings import get_settings
from intake import service
from intake.schemas import CitizenContact, IncomingContact
from intake.views import public_view

router = APIRouter(include_in_schema=False)

# The portal's idempotency keys live in their own namespace and must be UUIDs, so a key
# typed by hand can never land on (and reveal) somebody else's appeal.
EXTERNAL_ID_PREFIX = "web-"

# Which form field a service error is about, so the page can point at it.
_ERROR_FIELD = {
    "text_too_short": "text",
    "text_too_long": "text",
    "invalid_phone": "phone",
    "invalid_email": "email",
    "unknown_category": "category_code",
    "unknown_district": "district_code",
}
_FIELD_LABEL = {
    "text": "form.text",
    "category_code": "form.category",
    "district_code": "form.district",
    "address": "form.address",
    "full_name": "form.name",
    "phone": "form.phone",
    "email": "form.email",
}


@dataclass
class AppealForm:
    """What the citizen typed, kept as typed so a refused form comes back filled in."""

    text: str = ""
    category_code: str = ""
    district_code: str = ""
    address: str = ""
    full_name: str = ""
    phone: str = ""
    email: str = ""
    idempotency_key: str = ""

    def external_id(self) -> str:
        """The idempotency key as the portal's external id; a fresh one if it is not a UUID."""
        try:
            key = uuid.UUID(self.idempotency_key.strip())
        except ValueError:
            key = uuid.uuid4()
        return f"{EXTERNAL_ID_PREFIX}{key}"

    def contact(self, language: str) -> IncomingContact:
        """The form as one ``IncomingContact``; pydantic's ValidationError when a field is bad."""
        return IncomingContact(
            channel=Channel.PORTAL,
            external_id=self.external_id(),
            text=self.text,
            language="kk" if language == "kk" else "ru",
            category_code=self.category_code.strip() or None,
            district_code=self.district_code.strip() or None,
            address=self.address.strip() or None,
            citizen=CitizenContact(
                full_name=self.full_name.strip() or None,
                phone=self.phone.strip() or None,
                email=self.email.strip() or None,
            ),
        )


@dataclass(frozen=True)
class FormProblem:
    message: str
    field: str | None


def _problem_from_domain(error: DomainError, language: str) -> FormProblem:
    settings = get_settings()
    key = f"error.{error.code}"
    message = t(
        key if has(key) else "error.validation_failed",
        language,
        min=settings.min_appeal_chars,
        max=settings.max_appeal_chars,
    )
    return FormProblem(message, _ERROR_FIELD.get(error.code))


def _problem_from_pydantic(error: ValidationError, language: str) -> FormProblem:
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    field = location[-1] if location else None
    if field == "email":
        return FormProblem(t("error.invalid_email", language), "email")
    if first.get("type") == "string_too_long" and field in _FIELD_LABEL:
        label = t(_FIELD_LABEL[field], language)
        return FormProblem(t("error.field_too_long", language, field=label), field)
    known_field = field if field in _FIELD_LABEL else None
    return FormProblem(t("error.validation_failed", language), known_field)


def _form_page(
    request: Request,
    session: Session,
    *,
    language: str,
    form: AppealForm,
    problem: FormProblem | None = None,
    status_code: int = 200,
    anonymous_check: bool = False,
) -> Response:
    settings = get_settings()
    response = render(
        request,
        "portal/form.html",
        language=language,
        status_code=status_code,
        # The form holds a one-time idempotency key: a page from the back/forward cache
        # would post an old key and land on the previous appeal.
        private=True,
        switch_path="/",
        form=asdict(form),
        problem=problem,
        categories=category_groups(session, language, other_label=t("form.other_area", language)),
        districts=district_options(session, language),
        min_chars=settings.min_appeal_chars,
        max_chars=settings.max_appeal_chars,
        anonymous_check=anonymous_check,
    )
    return response


@router.get("/", name="portal_form")
def appeal_form(request: Request, session: DbSession) -> Response:
    language = page_language(request)
    return _form_page(
        request, session, language=language, form=AppealForm(idempotency_key=str(uuid.uuid4()))
    )


@router.post("/appeals", name="portal_submit")
def submit_appeal(
    request: Request,
    session: DbSession,
    text: Annotated[str, Form()] = "",
    category_code: Annotated[str, Form()] = "",
    district_code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
    anonymous_ok: Annotated[str, Form()] = "",
) -> Response:
    language = page_language(request, lang)
    form = AppealForm(
        text=text,
        category_code=category_code,
        district_code=district_code,
        address=address,
        full_name=full_name,
        phone=phone,
        email=email,
        idempotency_key=idempotency_key,
    )
    if text.strip() and not (phone.strip() or email.strip()) and anonymous_ok != "1":
        # Without a phone or an e-mail the appeal is anonymous: say what that means
        # before it is sent, and ask for a contact (issue 14, item 7).
        return _form_page(request, session, language=language, form=form, anonymous_check=True)
    try:
        result = service.submit(session, form.contact(language))
    except ValidationError as error:
        problem = _problem_from_pydantic(error, language)
    except DomainError as error:
        session.rollback()
        problem = _problem_from_domain(error, language)
    else:
        # This browser keeps the proof that it filed the appeal: it may rate the answer.
        token = portal.link_to_token(
            session, citizen_token=rating.citizen_token(request), appeal_id=result.appeal_id
        )
        number = quote(result.tracking_number, safe="-")
        response = redirect(f"/appeals/{number}?lang={language}&new=1")
        rating.remember_citizen(response, token)
        return response
    return _form_page(
        request, session, language=language, form=form, problem=problem, status_code=422
    )


def _unknown_number(request: Request, language: str, number: str, **context: Any) -> Response:
    """The tracking form again, 404, saying the number is not known (in the citizen's language)."""
    return render(
        request,
        "portal/track.html",
        language=language,
        status_code=404,
        number=number,
        problem=t("error.tracking_number_not_found", language),
        **context,
    )


@router.get("/track", name="portal_track")
def track(request: Request, session: DbSession, number: str = "") -> Response:
    """The tracking form; with ``?number=`` it opens that appeal's page."""
    language = page_language(request)
    number = number.strip().upper()
    if not number:
        return render(request, "portal/track.html", language=language, number="", problem=None)
    try:
        appeal = access.get_by_tracking_number(session, number[:40])
    except NotFound:
        return _unknown_number(request, language, number[:40])
    return redirect(f"/appeals/{quote(appeal.tracking_number, safe='-')}?lang={language}")


@router.get("/appeals/{tracking_number}", name="portal_status")
def appeal_status(
    request: Request, session: DbSession, tracking_number: str, new: str = "", rated: str = ""
) -> Response:
    """Status, dates, organization and the approved answer; never contact data or the text."""
    language = page_language(request)
    try:
        appeal = access.get_by_tracking_number(session, tracking_number[:40])
    except NotFound:
        return _unknown_number(
            request, language, tracking_number[:40].strip().upper(), heading_key="notfound.heading"
        )
    return _status_page(request, session, appeal, language, new=new == "1", rated=rated == "1")


def _status_page(
    request: Request,
    session: Session,
    appeal: Appeal,
    language: str,
    *,
    new: bool = False,
    rated: bool = False,
    problem: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = public_view(session, appeal, language)
    rejection = None  # why it was left without consideration, in the citizen's language
    if appeal.status is Status.REJECTED:
        code = appeal.rejection_reason or ""
        rejection = code if has(f"rejected.{code}") else "other"
    return render(
        request,
        "portal/status.html",
        rejection=rejection,
        language=language,
        status_code=status_code,
        # The rating form is this browser's own: not for a shared cache.
        private=True,
        appeal=view,
        new=new,
        rated="reopened" if rated and appeal.status is Status.REOPENED else rated,
        rating=rating.rating_box(session, request, appeal, language),
        rate_problem=problem,
        rate_form=form or {},
    )


@router.post("/appeals/{tracking_number}/rating", name="portal_rate")
def rate_answer(
    request: Request,
    session: DbSession,
    tracking_number: str,
    score: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """The filer rates the answer (``civicdesk.web.portal.rating``); a refusal is the
    status page again with the reason in the citizen's language, never a 500."""
    language = page_language(request, lang)
    try:
        appeal = access.get_by_tracking_number(session, tracking_number[:40])
    except NotFound:
        return _unknown_number(
            request, language, tracking_number[:40].strip().upper(), heading_key="notfound.heading"
        )
    try:
        rating.rate(session, request, appeal, score=score, comment=comment.strip())
    except DomainError as error:
        session.rollback()
        key = f"error.{error.code}"
        return _status_page(
            request,
            session,
            appeal,
            language,
            problem=t(key if has(key) else "error.validation_failed", language),
            form={"score": score[:2], "comment": comment[:4000]},
            status_code=error.http_status,
        )
    number = quote(appeal.tracking_number, safe="-")
    return redirect(f"/appeals/{number}?lang={language}&rated=1#rating")
