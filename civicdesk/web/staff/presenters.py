"""What the staff pages show: list rows, deadline colours, and which action forms a user gets.

Pure functions over loaded objects; the lifecycle tables decide, as they do for the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from appeals.lifecycle import ACTIONS, OPEN_STATUSES, TRANSITIONS, Status, status_label
from appeals.models import Appeal
from core.models import Role, StaffUser
from core.pii import mask_text

SNIPPET_CHARS: Final = 120
DUE_SOON: Final = timedelta(days=2)

#: Status filter tabs of the list, in display order; "triage" is the unrouted queue.
TABS: Final[dict[str, tuple[Status, ...]]] = {
    "new": (Status.ASSIGNED, Status.FORWARDED, Status.REOPENED, Status.RETURNED),
    "in_work": (Status.IN_PROGRESS, Status.EXTENDED),
    "answered": (Status.ANSWERED, Status.CLOSED, Status.QUICK_ANSWERED),
    "all": (),
    "triage": (),
}
TRIAGE_ROLES: Final = frozenset({Role.OPERATOR, Role.INSPECTOR, Role.ADMIN})

#: The status each action leads to ("route" depends on the appeal, see ``route_target``).
#: The review (accept or return) and the extension have their own forms on the appeal's
#: SLA page (``Action.dedicated``), so they have no generic form here.
ACTION_TARGET: Final[dict[str, Status]] = {
    "accept": Status.IN_PROGRESS,
    "answer": Status.ANSWERED,
    "send_back": Status.REGISTERED,
    "reject": Status.REJECTED,
    "quick_answer": Status.QUICK_ANSWERED,
    "reopen": Status.REOPENED,
}


def tabs_for(user: StaffUser) -> list[str]:
    return [tab for tab in TABS if tab != "triage" or user.role in TRIAGE_ROLES]


def default_tab(user: StaffUser) -> str:
    return "new" if user.role is Role.EXECUTOR else "all"


def due_state(appeal: Appeal, moment: datetime) -> str:
    """'overdue', 'soon' (within two days) or '' — only while the appeal awaits its answer."""
    if appeal.due_at is None or appeal.status not in OPEN_STATUSES:
        return ""
    if appeal.due_at <= moment:
        return "overdue"
    if appeal.due_at - moment <= DUE_SOON:
        return "soon"
    return ""


def snippet(text: str, limit: int = SNIPPET_CHARS, masks: frozenset[str] = frozenset()) -> str:
    """The start of the text on one line; personal data of the kinds ``masks`` masked (only
    the part shown is scanned, with room so a number at the cut is still found whole)."""
    flat = " ".join(text.split())
    if masks:
        flat = mask_text(flat[: limit * 2], kinds=masks) or ""
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class AppealRow:
    id: int
    tracking_number: str
    received_at: datetime
    due_at: datetime | None
    due_state: str
    category: str
    district: str
    status: str
    status_label: str
    urgent: bool
    snippet: str


def appeal_row(
    appeal: Appeal,
    *,
    language: str,
    moment: datetime,
    categories: dict[str, str],
    districts: dict[str, str],
    text_masks: frozenset[str] = frozenset(),
) -> AppealRow:
    return AppealRow(
        id=appeal.id,
        tracking_number=appeal.tracking_number,
        received_at=appeal.received_at,
        due_at=appeal.due_at,
        due_state=due_state(appeal, moment),
        category=categories.get(appeal.category_code or "", appeal.category_code or ""),
        district=districts.get(appeal.district_code or "", appeal.district_code or ""),
        status=appeal.status.value,
        status_label=status_label(appeal.status, language),
        urgent=appeal.urgency != "normal",
        snippet=snippet(appeal.text, masks=text_masks),
    )


def route_target(appeal: Appeal) -> Status:
    """Routing an unassigned appeal assigns it; routing an assigned one forwards it."""
    unassigned = appeal.organization_id is None
    first_time = appeal.status in (Status.REGISTERED, Status.REOPENED) and unassigned
    return Status.ASSIGNED if first_time else Status.FORWARDED


def available_actions(user: StaffUser, appeal: Appeal) -> list[str]:
    """The actions whose forms this user should see for this appeal, in the lifecycle's order.

    The service checks again when the form is posted; this only keeps useless
    buttons off the page.
    """
    names = []
    for name, action in ACTIONS.items():
        if action.dedicated is not None or user.role.value not in action.roles:
            continue
        if (
            action.own_organization
            and user.role is Role.EXECUTOR
            and (appeal.organization_id is None or appeal.organization_id != user.organization_id)
        ):
            continue
        if name == "accept" and appeal.status is Status.RETURNED:
            continue  # already the executor's: they fix the answer (issue 14, item 4)
        target = route_target(appeal) if name == "route" else ACTION_TARGET[name]
        if target not in TRANSITIONS[appeal.status]:
            continue
        names.append(name)
    return names


class ClockFacts(Protocol):
    """What ``sla_steps`` reads: an ``Appeal`` or the page's ``StaffAppealView``."""

    @property
    def status(self) -> Status: ...
    @property
    def organization_id(self) -> int | None: ...
    @property
    def due_at(self) -> datetime | None: ...


def sla_steps(user: StaffUser, appeal: ClockFacts) -> list[str]:
    """The dedicated steps (their forms live on the SLA page) this user may take now:
    ``review`` (an inspector, an answer waiting) and ``extension`` (ask for more time)."""
    steps = []
    if user.role in (Role.INSPECTOR, Role.ADMIN) and appeal.status is Status.ANSWERED:
        steps.append("review")
    own = user.role is not Role.EXECUTOR or appeal.organization_id == user.organization_id
    if (
        own
        and user.role in (Role.EXECUTOR, Role.ADMIN)  # an inspector decides, never asks
        and appeal.due_at is not None
        and Status.EXTENDED in TRANSITIONS[appeal.status]
    ):
        steps.append("extension")
    return steps
