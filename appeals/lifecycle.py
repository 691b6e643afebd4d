"""The appeal lifecycle as data: statuses, who may move an appeal where, and their labels.

Pure: the service actions consult this table; nothing else decides a transition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.errors import InvalidTransition


class Status(enum.StrEnum):
    RECEIVED = "received"
    REGISTERED = "registered"
    ASSIGNED = "assigned"
    FORWARDED = "forwarded"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    ANSWERED = "answered"
    RETURNED = "returned"
    CLOSED = "closed"
    QUICK_ANSWERED = "quick_answered"
    REJECTED = "rejected"
    REOPENED = "reopened"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset({S.REGISTERED, S.REJECTED, S.QUICK_ANSWERED}),
    S.REGISTERED: frozenset({S.ASSIGNED, S.REJECTED, S.QUICK_ANSWERED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.FORWARDED, S.REGISTERED, S.REJECTED, S.QUICK_ANSWERED}),
    S.FORWARDED: frozenset({S.IN_PROGRESS, S.FORWARDED, S.REGISTERED, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.ANSWERED, S.FORWARDED, S.REGISTERED, S.EXTENDED, S.REJECTED}),
    S.EXTENDED: frozenset({S.ANSWERED, S.EXTENDED, S.FORWARDED}),
    S.ANSWERED: frozenset({S.CLOSED, S.RETURNED}),
    S.RETURNED: frozenset({S.IN_PROGRESS, S.ANSWERED, S.FORWARDED, S.EXTENDED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.QUICK_ANSWERED: frozenset({S.REOPENED}),
    S.REJECTED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.ASSIGNED, S.FORWARDED}),
}

#: Statuses in which an appeal is still waiting for its answer.
OPEN_STATUSES = frozenset(
    {
        S.RECEIVED,
        S.REGISTERED,
        S.ASSIGNED,
        S.FORWARDED,
        S.IN_PROGRESS,
        S.EXTENDED,
        S.RETURNED,
        S.REOPENED,
    }
)
#: Statuses that show the answer to the citizen.
ANSWER_VISIBLE = frozenset({S.CLOSED, S.QUICK_ANSWERED})


def check_transition(current: Status, target: Status) -> None:
    """Refuse a move the lifecycle does not allow, saying what is allowed."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition(
            f"an appeal in status {current.value!r} cannot become {target.value!r}",
            code="invalid_transition",
            current=current.value,
            requested=target.value,
            allowed=sorted(status.value for status in allowed),
        )


@dataclass(frozen=True)
class Action:
    """A named staff action: who may take it, and whether executors are held to their org."""

    name: str
    roles: frozenset[str]
    own_organization: bool = False
    needs_reason: bool = False
    #: Set for a step that has its own named path (the inspector's review, the extension
    #: request and its approval by another person): the generic action endpoint refuses it,
    #: so the review record, the checklist reason and the four-eyes rule cannot be skipped.
    dedicated: str | None = None


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("accept", frozenset({"executor", "admin"}), own_organization=True),
        Action("answer", frozenset({"executor", "admin"}), own_organization=True),
        Action(
            "send_back", frozenset({"executor", "admin"}), own_organization=True, needs_reason=True
        ),
        Action("route", frozenset({"operator", "inspector", "admin"})),
        Action("close", frozenset({"inspector", "admin"}), dedicated="review"),
        Action("return", frozenset({"inspector", "admin"}), needs_reason=True, dedicated="review"),
        Action(
            "extend", frozenset({"inspector", "admin"}), needs_reason=True, dedicated="extension"
        ),
        Action("reject", frozenset({"operator", "inspector", "admin"}), needs_reason=True),
        Action("quick_answer", frozenset({"operator", "admin"})),
        Action("reopen", frozenset({"inspector", "admin"}), needs_reason=True),
    )
}

REJECTION_REASONS = ("spam", "no_substance", "anonymous", "duplicate", "abusive")

STATUS_LABELS: dict[Status, dict[str, str]] = {
    S.RECEIVED: {"ru": "Получено", "kk": "Келіп түсті"},
    S.REGISTERED: {"ru": "Зарегистрировано", "kk": "Тіркелді"},
    S.ASSIGNED: {"ru": "Направлено исполнителю", "kk": "Орындаушыға жіберілді"},
    S.FORWARDED: {"ru": "Перенаправлено", "kk": "Қайта жолданды"},
    S.IN_PROGRESS: {"ru": "В работе", "kk": "Орындалуда"},
    S.EXTENDED: {"ru": "Срок продлён", "kk": "Мерзімі ұзартылды"},
    S.ANSWERED: {"ru": "Ответ на проверке", "kk": "Жауап тексерілуде"},
    S.RETURNED: {"ru": "Ответ на доработке", "kk": "Жауап пысықталуда"},
    S.CLOSED: {"ru": "Ответ дан", "kk": "Жауап берілді"},
    S.QUICK_ANSWERED: {"ru": "Ответ дан сразу", "kk": "Жауап бірден берілді"},
    S.REJECTED: {"ru": "Оставлено без рассмотрения", "kk": "Қараусыз қалдырылды"},
    S.REOPENED: {"ru": "Возобновлено", "kk": "Қайта қаралуда"},
}


def status_label(status: Status, language: str) -> str:
    return STATUS_LABELS[status]["kk" if language == "kk" else "ru"]
