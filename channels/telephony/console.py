"""The operator console's services: who is calling, is this a repeat, and filing from a call.

The console (``civicdesk/web/console/pages.py``) is thin: a screen-pop gives it a phone
number, :func:`caller_card` gives the person behind it across merged identities
with their open and recent appeals; :func:`repeat_hint` compares what the caller
is saying with their open appeals (and others' reports at the same place) by the
same rules the pipeline links repeats with; :func:`file_from_call` and
:func:`answer_on_the_spot` go through ``submit()`` and the named actions. Nothing
here logs personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypedDict, Unpack

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import OPEN_STATUSES, Status
from appeals.models import Appeal, Channel, Citizen
from appeals.reasons import Reason
from core.clock import now
from core.errors import PermissionDenied, ValidationFailed
from core.models import Role, StaffUser
from core.phones import normalize_phone
from intake import corrections, pipeline
from intake.nlp_models import AppealClassification
from intake.repeats import identity
from intake.repeats.linking import candidates
from intake.repeats.matching import AppealFacts, MatchRules, best_matches, match_keys
from intake.schemas import CitizenContact, IncomingContact
from intake.service import SubmitResult, submit
from knowledge_base.models import PairSource
from knowledge_base.service import article_exists, record_pair
from routing import forwarding
from routing.service import organization_by_code
from sla.urgent import notify_urgent

#: How many of the caller's appeals the card shows: every open one up to this many, and
#: this many of the finished ones.
OPEN_SHOWN = 20
RECENT_SHOWN = 5
#: Finished appeals older than this are history, not "recent" (the full list is one click).
RECENT_DAYS = 365
URGENCIES = ("normal", "high")
OPERATOR_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})


@dataclass(frozen=True)
class CardAppeal:
    id: int
    tracking_number: str
    status: Status
    category_code: str | None
    district_code: str | None
    received_at: datetime
    due_at: datetime | None
    is_repeat: bool
    urgent: bool

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class CallerCard:
    """The person behind a phone number, as the operator needs them during the call."""

    phone_e164: str | None
    citizen_id: int | None  # the root of the person's merged records
    citizen_ids: list[int] = field(default_factory=list)
    full_name: str | None = None
    preferred_language: str | None = None
    open_appeals: list[CardAppeal] = field(default_factory=list)
    recent_appeals: list[CardAppeal] = field(default_factory=list)
    appeals_total: int = 0

    @property
    def known(self) -> bool:
        return self.citizen_id is not None

    @property
    def repeat_caller(self) -> bool:
        """Calling while an appeal is still open: most likely about it again."""
        return bool(self.open_appeals)


@dataclass(frozen=True)
class RepeatHint:
    """An earlier appeal what the caller says matches (``kind`` repeat: theirs; duplicate:
    another citizen's report of the same problem at the same place)."""

    kind: Literal["repeat", "duplicate"]
    appeal_id: int
    tracking_number: str
    status: Status
    score: float
    incident_id: int | None


@dataclass(frozen=True)
class FiledAppeal:
    appeal_id: int
    tracking_number: str
    status: Status
    created: bool
    organization_id: int | None


def _card_appeal(appeal: Appeal) -> CardAppeal:
    return CardAppeal(
        id=appeal.id,
        tracking_number=appeal.tracking_number,
        status=appeal.status,
        category_code=appeal.category_code,
        district_code=appeal.district_code,
        received_at=appeal.received_at,
        due_at=appeal.due_at,
        is_repeat=appeal.is_repeat,
        urgent=appeal.urgency != "normal",
    )


def phone_or_none(raw: str | None) -> str | None:
    """An E.164 number from what a caller id or an operator gave; None when unreadable
    (a withheld caller id, an internal extension)."""
    if not raw or not raw.strip():
        return None
    try:
        return normalize_phone(raw)
    except ValidationFailed:
        return None


def caller_card(session: Session, *, phone_e164: str | None) -> CallerCard:
    """The known citizen with this number (across merged records) and their appeals."""
    phone = phone_or_none(phone_e164)
    if phone is None:
        return CallerCard(phone_e164=None, citizen_id=None)
    citizen_id = session.scalar(select(Citizen.id).where(Citizen.phone_e164 == phone))
    if citizen_id is None:
        return CallerCard(phone_e164=phone, citizen_id=None)
    root, group = identity.group_of(session, citizen_id)
    people = {
        row.id: row
        for row in session.scalars(
            select(Citizen).where(Citizen.id.in_(group)).execution_options(populate_existing=True)
        )
    }
    # The record with this number speaks for the person; the root fills in what it lacks.
    own, first = people.get(citizen_id), people.get(root)
    full_name = (own.full_name if own else None) or (first.full_name if first else None)
    language = own.preferred_language if own else None
    open_rows = session.scalars(
        select(Appeal)
        .where(Appeal.citizen_id.in_(group), Appeal.status.in_(OPEN_STATUSES))
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
        .limit(OPEN_SHOWN)
    ).all()
    recent_rows = session.scalars(
        select(Appeal)
        .where(
            Appeal.citizen_id.in_(group),
            Appeal.status.not_in(OPEN_STATUSES),
            Appeal.received_at >= now() - timedelta(days=RECENT_DAYS),
        )
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
        .limit(RECENT_SHOWN)
    ).all()
    total = session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.citizen_id.in_(group))
    )
    return CallerCard(
        phone_e164=phone,
        citizen_id=root,
        citizen_ids=group,
        full_name=full_name,
        preferred_language=language,
        open_appeals=[_card_appeal(row) for row in open_rows],
        recent_appeals=[_card_appeal(row) for row in recent_rows],
        appeals_total=int(total or 0),
    )


def repeat_hint(
    session: Session,
    *,
    card: CallerCard,
    text: str,
    address: str | None = None,
    category_code: str | None = None,
    district_code: str | None = None,
    rules: MatchRules | None = None,
) -> list[RepeatHint]:
    """What the caller says, compared before filing with their earlier appeals (a repeat)
    and with other citizens' recent reports at the same place (a duplicate)."""
    text = text.strip()
    if len(text) < 3:
        return []
    rules = rules or MatchRules()
    match_text, places, street_key = match_keys(text, address)
    new = AppealFacts(
        id=0,  # not stored yet: no appeal has id 0
        citizen_group=card.citizen_id,
        category_code=category_code,
        district_code=district_code,
        places=tuple(places),
        text=match_text,
        received_at=now(),
    )
    found = candidates(session, new, card.citizen_ids, rules, street_key)
    hints = []
    for kind, match in zip(("repeat", "duplicate"), best_matches(new, found, rules), strict=True):
        if match is None:
            continue
        other = session.get(Appeal, int(match.evidence["other_id"]))
        if other is None:
            continue
        hints.append(
            RepeatHint(
                kind="repeat" if kind == "repeat" else "duplicate",
                appeal_id=other.id,
                tracking_number=other.tracking_number,
                status=other.status,
                score=match.score,
                incident_id=other.incident_id,
            )
        )
    return hints


def _require_operator(user: StaffUser) -> None:
    if user.role not in OPERATOR_ROLES:
        raise PermissionDenied("the console is for operators", code="role_not_allowed")


class CallerDetails(TypedDict, total=False):
    """What the operator noted about the caller and the request; empty or absent is unknown."""

    phone: str | None
    full_name: str | None
    language: str | None
    category_code: str | None
    district_code: str | None
    address: str | None


def _submit_call(
    session: Session,
    *,
    operator: StaffUser,
    external_id: str,
    text: str,
    details: CallerDetails,
) -> SubmitResult:
    """The call's contact through ``submit()``, as every channel files one."""
    phone = details.get("phone")
    language = details.get("language")
    number = normalize_phone(phone) if phone and phone.strip() else None
    contact = IncomingContact(
        channel=Channel.PHONE,
        external_id=external_id,
        text=text,
        language="kk" if language == "kk" else ("ru" if language == "ru" else None),
        category_code=details.get("category_code") or None,
        district_code=details.get("district_code") or None,
        address=details.get("address") or None,
        citizen=CitizenContact(
            phone=number, full_name=(details.get("full_name") or "").strip() or None
        ),
    )
    return submit(session, contact, submitted_by=operator)


def file_from_call(
    session: Session,
    *,
    operator: StaffUser,
    external_id: str,
    text: str,
    organization_code: str | None = None,
    urgency: str | None = None,
    **details: Unpack[CallerDetails],
) -> FiledAppeal:
    """File what the caller said, processed at once so the operator can tell them who will
    answer and by when; the operator's choices win over the classifier's.

    The same ``external_id`` twice (a double click, a retried post) returns the first
    appeal untouched. ``organization_code`` and ``urgency`` left empty mean "as the rules
    decide"; an organization other than the rules' choice is a manual route, recorded with
    the operator's name in the history.
    """
    _require_operator(operator)
    if urgency and urgency not in URGENCIES:
        raise ValidationFailed(f"unknown urgency {urgency!r}", code="unknown_urgency")
    target = organization_by_code(session, organization_code) if organization_code else None
    result = _submit_call(
        session, operator=operator, external_id=external_id, text=text, details=details
    )
    if not result.created:
        existing = session.get(Appeal, result.appeal_id)
        return FiledAppeal(
            result.appeal_id,
            result.tracking_number,
            result.status,
            created=False,
            organization_id=existing.organization_id if existing else None,
        )
    appeal = pipeline.process(session, result.appeal_id)
    assert appeal is not None  # just inserted in this transaction
    if details.get("category_code"):
        _record_category_choice(session, appeal, operator)
    if urgency and appeal.urgency != urgency:
        appeal.urgency = urgency
        appeal.urgency_triggers = "operator" if urgency == "high" else None
        if urgency == "high":
            session.flush()
            notify_urgent(session, [appeal.id])
    if (
        target is not None
        and target.id != appeal.organization_id
        and appeal.status in (Status.REGISTERED, Status.ASSIGNED)
    ):
        forwarding.route(
            session,
            appeal,
            user=operator,
            organization_id=target.id,
            reason="chosen by the operator during the call",
            because=Reason("operator_call"),
        )
    session.flush()
    return FiledAppeal(
        appeal.id,
        appeal.tracking_number,
        appeal.status,
        created=True,
        organization_id=appeal.organization_id,
    )


def _record_category_choice(session: Session, appeal: Appeal, operator: StaffUser) -> None:
    """The operator's category against the classifier's suggestion for the same text (the
    pipeline stored it): a correction or a confirmation, training data either way."""
    suggestion = session.execute(
        select(AppealClassification.category_code, AppealClassification.confidence)
        .where(AppealClassification.appeal_id == appeal.id)
        .order_by(AppealClassification.id.desc())
        .limit(1)
    ).first()
    suggested = suggestion[0] if suggestion else None
    confirmed = suggested == appeal.category_code
    corrections.record_operator_choice(
        session,
        appeal,
        user=operator,
        suggested=suggested,
        confidence=suggestion[1] if suggestion else None,
        reason="call center: "
        + ("the operator confirmed the suggestion" if confirmed else "chosen by the operator"),
    )


def answer_on_the_spot(
    session: Session,
    *,
    operator: StaffUser,
    external_id: str,
    text: str,
    answer: str,
    kb_article_id: int | None = None,
    **details: Unpack[CallerDetails],
) -> FiledAppeal:
    """The contact is recorded and closed at once with the answer given on the phone
    (``quick_answer``): it counts toward the share answered on the spot. ``kb_article_id``:
    the knowledge-base article the operator inserted, recorded with the caller's words as a
    (question, article) pair that the next index build learns."""
    _require_operator(operator)
    if len((answer or "").strip()) < 10:
        # Checked before anything is written: a refused answer must not leave an appeal.
        raise ValidationFailed(
            "the answer must say something (10 characters at least)", code="answer_too_short"
        )
    result = _submit_call(
        session, operator=operator, external_id=external_id, text=text, details=details
    )
    appeal = session.get(Appeal, result.appeal_id)
    assert appeal is not None
    if result.created:
        actions.quick_answer(session, appeal, user=operator, text=answer)
        if kb_article_id is not None and article_exists(session, kb_article_id):
            record_pair(
                session,
                article_id=kb_article_id,
                question=text,
                language=details.get("language") or appeal.language or "ru",
                source=PairSource.OPERATOR,
                channel="phone",
                operator_id=operator.id,
                appeal_id=appeal.id,
            )
        session.flush()
    return FiledAppeal(
        appeal.id,
        appeal.tracking_number,
        appeal.status,
        created=result.created,
        organization_id=appeal.organization_id,
    )


def filed_for_call(session: Session, *, external_prefix: str) -> list[Appeal]:
    """The appeals already filed from one call (their external ids share its prefix)."""
    return list(
        session.scalars(
            select(Appeal)
            .where(
                Appeal.channel == Channel.PHONE,
                Appeal.external_id.startswith(external_prefix, autoescape=True),
            )
            .order_by(Appeal.id)
        )
    )
