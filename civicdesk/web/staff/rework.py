"""An appeal back for rework stands out on its page (issue 14, items 4 and 5).

When an inspector returns the answer, the executor sees a banner with the inspector's
reason and comment, the previous answer is put back in the answer form, and "accept"
is not offered (the appeal is already theirs: they fix the answer). When a citizen's low
rating reopened the appeal, the banner gives the score and the citizen's comment. Both
read the appeal's history: the latest step back (to ``returned`` or ``reopened``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from appeals.lifecycle import Status
from appeals.models import Appeal
from appeals.reasons import stored
from sla.texts import RETURN_REASON_LABELS

#: The statuses in which the appeal waits for a new answer after a step back.
REWORK: Final = frozenset({Status.RETURNED, Status.REOPENED, Status.IN_PROGRESS, Status.EXTENDED})


@dataclass(frozen=True)
class ReworkNotice:
    kind: str  # "returned" (by an inspector) or "low_rating" (by the citizen)
    at: datetime
    actor_id: int | None
    reason: str  # the inspector's reason in the page's language; "" for a rating
    comment: str  # the inspector's or the citizen's words, as written
    score: int | None = None


def rework_notice(appeal: Appeal, language: str) -> ReworkNotice | None:
    """The latest step back, while the appeal still waits for the answer it asks for."""
    if appeal.status not in REWORK:
        return None
    for change in reversed(appeal.history):
        if change.to_status in (Status.ANSWERED, Status.QUICK_ANSWERED, Status.CLOSED):
            return None  # answered again since
        if change.to_status not in (Status.RETURNED, Status.REOPENED):
            continue
        why = stored(change.reason_code, change.reason_params, change.reason, change.to_status)
        if why is None:
            return None
        params = why.params
        if why.code == "answer_returned":
            code = str(params.get("return_reason", ""))
            labels = RETURN_REASON_LABELS.get(code)
            return ReworkNotice(
                kind="returned",
                at=change.at,
                actor_id=change.actor_id,
                reason=labels[language] if labels else code,
                comment=str(params.get("note") or ""),
            )
        if why.code == "low_rating":
            return ReworkNotice(
                kind="low_rating",
                at=change.at,
                actor_id=change.actor_id,
                reason="",
                comment=str(params.get("comment") or ""),
                score=int(params.get("score") or 0) or None,
            )
        return None
    return None


def previous_answer(appeal: Appeal) -> str:
    """The answer sent back, to start the new one from (empty when there is none)."""
    if appeal.status in (Status.RETURNED, Status.REOPENED) and appeal.answer_text:
        return appeal.answer_text
    return ""
