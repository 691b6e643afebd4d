"""One citizen across channels: records merged by evidence form a group with one root.

A merge is a pointer (``merged_into_id``) plus a ``citizen_merges`` row with the
reason and evidence; undoing it clears the pointer. No appeal or identity moves,
so a wrong merge costs nothing to undo.

Merges always join roots: ``merge(kept, merged)`` points the root of ``merged``'s
group at the root of ``kept``'s group, so an active merge row and its pointer are
one and the same (the pointer of ``merged_id`` is ``kept_id`` exactly while the row
is not undone). Groups are computed from the pointers, never stored, so undoing
any merge, early or late, leaves every other merge as it was.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Citizen, CitizenMerge
from core.clock import now
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import StaffUser
from core.phones import mask_phone

MAX_DEPTH = 32
MAX_REASON_CHARS = 64
PROFILE_APPEALS = 200

#: Reasons recorded by the system; operators' merges carry ``"operator"`` and their note.
SHARED_CONTACT = "shared_contact"
OPERATOR = "operator"


def root_of(session: Session, citizen_id: int) -> int:
    """The record a citizen's merges lead to (itself when never merged)."""
    current = citizen_id
    for _ in range(MAX_DEPTH):
        parent = session.scalar(select(Citizen.merged_into_id).where(Citizen.id == current))
        if parent is None:
            return current
        current = parent
    return current


@lru_cache(maxsize=1)
def _record_and_children() -> Any:
    citizen: Any = bindparam("citizen_id")
    return select(Citizen.id, Citizen.merged_into_id).where(
        (Citizen.id == citizen) | (Citizen.merged_into_id == citizen)
    )


def group_of(session: Session, citizen_id: int) -> tuple[int, list[int]]:
    """(root, every record of the person). One query for a citizen never merged, which is
    nearly everyone: the hot path of repeat detection."""
    rows = session.execute(_record_and_children(), {"citizen_id": citizen_id}).all()
    if len(rows) == 1 and rows[0][0] == citizen_id and rows[0][1] is None:
        return citizen_id, [citizen_id]
    root = root_of(session, citizen_id)
    return root, group_ids(session, root)


def group_ids(session: Session, citizen_id: int) -> list[int]:
    """Every record of the same person: the root and all records merged into it."""
    root = root_of(session, citizen_id)
    group, frontier = {root}, [root]
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        children = list(
            session.scalars(select(Citizen.id).where(Citizen.merged_into_id.in_(frontier)))
        )
        frontier = [child for child in children if child not in group]
        group.update(frontier)
    return sorted(group)


def mask_email(email: str) -> str:
    """'asel.n@mail.kz' → 'a***@mail.kz': enough to recognise, not enough to write to."""
    local_part, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local_part[:1]}***@{domain}"


def _require_citizen(session: Session, citizen_id: int) -> None:
    if session.scalar(select(Citizen.id).where(Citizen.id == citizen_id)) is None:
        raise NotFound(f"citizen {citizen_id} not found", code="citizen_not_found")


def _lock_roots(session: Session, ids: set[int]) -> dict[int, Citizen]:
    """Lock the records (in id order, so two merges never deadlock) and read them fresh."""
    rows = session.scalars(
        select(Citizen)
        .where(Citizen.id.in_(ids))
        .order_by(Citizen.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def merge(
    session: Session,
    *,
    kept_id: int,
    merged_id: int,
    reason: str,
    evidence: dict[str, Any],
    by: StaffUser | None,
) -> CitizenMerge:
    """Join two people's groups: the root of ``merged_id`` points at the root of ``kept_id``.

    Refuses (``already_one_person``) when both are already in one group. The row
    records the roots; when the caller named other records of the groups, their ids
    are kept in ``evidence["requested"]``.
    """
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed(
            f"a merge needs a reason of 1 to {MAX_REASON_CHARS} characters",
            code="invalid_merge_reason",
        )
    _require_citizen(session, kept_id)
    _require_citizen(session, merged_id)
    for _attempt in range(3):
        kept_root, merged_root = root_of(session, kept_id), root_of(session, merged_id)
        if kept_root == merged_root:
            raise Conflict("these records are already one person", code="already_one_person")
        locked = _lock_roots(session, {kept_root, merged_root})
        # A concurrent merge may have moved either root under another between the read
        # and the lock; then read the roots again.
        if all(locked[i].merged_into_id is None for i in (kept_root, merged_root)):
            break
    else:
        raise Conflict("the records changed while merging; try again", code="merge_race")
    recorded = dict(evidence)
    if (kept_root, merged_root) != (kept_id, merged_id):
        recorded["requested"] = {"kept_id": kept_id, "merged_id": merged_id}
    locked[merged_root].merged_into_id = kept_root
    row = CitizenMerge(
        kept_id=kept_root,
        merged_id=merged_root,
        reason=reason,
        evidence=recorded,
        by_id=by.id if by else None,
        at=now(),
    )
    session.add(row)
    session.flush()
    return row


def undo_merge(session: Session, *, merge_id: int, by: StaffUser | None) -> CitizenMerge:
    """Split a wrong merge: the merged record (and what was merged into it) is its own again."""
    row = session.get(CitizenMerge, merge_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"merge {merge_id} not found", code="merge_not_found")
    if row.undone_at is not None:
        raise Conflict("this merge was already undone", code="merge_already_undone")
    merged = session.get(Citizen, row.merged_id, with_for_update=True, populate_existing=True)
    if merged is None or merged.merged_into_id != row.kept_id:
        # Cannot happen while merges go through this module; refuse rather than guess.
        raise Conflict(
            "the merged record no longer points where this merge put it",
            code="merge_pointer_changed",
        )
    merged.merged_into_id = None
    row.undone_at = now()
    row.undone_by_id = by.id if by else None
    session.flush()
    return row


def merges_of(session: Session, citizen_id: int) -> list[CitizenMerge]:
    """Every merge touching the citizen's group, undone ones included, oldest first."""
    group = group_ids(session, citizen_id)
    return list(
        session.scalars(
            select(CitizenMerge)
            .where(or_(CitizenMerge.kept_id.in_(group), CitizenMerge.merged_id.in_(group)))
            .order_by(CitizenMerge.at, CitizenMerge.id)
        )
    )


def split_before(session: Session, one_id: int, other_id: int) -> bool:
    """Whether someone undid a merge between these two people's groups."""
    one, other = group_ids(session, one_id), group_ids(session, other_id)
    undone = select(CitizenMerge.id).where(
        CitizenMerge.undone_at.is_not(None),
        or_(
            CitizenMerge.kept_id.in_(one) & CitizenMerge.merged_id.in_(other),
            CitizenMerge.kept_id.in_(other) & CitizenMerge.merged_id.in_(one),
        ),
    )
    return session.scalar(select(undone.exists())) is True


def merge_on_evidence(
    session: Session, *, kept_id: int, merged_id: int, reason: str, evidence: dict[str, Any]
) -> CitizenMerge | None:
    """The system's merge: nothing when already one person, or when staff split these
    two people before (a person's decision is not overturned by the next message)."""
    if root_of(session, kept_id) == root_of(session, merged_id):
        return None
    if split_before(session, kept_id, merged_id):
        return None
    return merge(
        session, kept_id=kept_id, merged_id=merged_id, reason=reason, evidence=evidence, by=None
    )


def merge_view(row: CitizenMerge) -> dict[str, Any]:
    """A merge as staff see it (its evidence holds only masked phones)."""
    return {
        "id": row.id,
        "kept_id": row.kept_id,
        "merged_id": row.merged_id,
        "reason": row.reason,
        "evidence": row.evidence,
        "by_id": row.by_id,
        "at": row.at,
        "undone": row.undone_at is not None,
        "undone_at": row.undone_at,
        "undone_by_id": row.undone_by_id,
    }


def profile(session: Session, citizen_id: int) -> dict[str, Any]:
    """For operators: the person's records with masked identities, merges, and appeals.

    Phones are masked (``mask_phone``), e-mails partly masked; Telegram ids are shown
    (they identify an account, not a way to reach someone outside the bot).
    """
    _require_citizen(session, citizen_id)
    group = group_ids(session, citizen_id)
    root = root_of(session, citizen_id)
    citizens = session.scalars(
        select(Citizen)
        .where(Citizen.id.in_(group))
        .order_by(Citizen.id)
        .execution_options(populate_existing=True)
    )
    records = [
        {
            "id": citizen.id,
            "root": citizen.id == root,
            "merged_into_id": citizen.merged_into_id,
            "full_name": citizen.full_name,
            "phone": mask_phone(citizen.phone_e164) if citizen.phone_e164 else None,
            "telegram_user_id": citizen.telegram_user_id,
            "email": mask_email(citizen.email) if citizen.email else None,
            "preferred_language": citizen.preferred_language,
            "created_at": citizen.created_at,
        }
        for citizen in citizens
    ]
    appeals = session.execute(
        select(
            Appeal.id,
            Appeal.tracking_number,
            Appeal.status,
            Appeal.channel,
            Appeal.category_code,
            Appeal.received_at,
            Appeal.citizen_id,
        )
        .where(Appeal.citizen_id.in_(group))
        .order_by(Appeal.received_at.desc(), Appeal.id.desc())
        .limit(PROFILE_APPEALS)
    ).all()
    total = session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.citizen_id.in_(group))
    )
    return {
        "citizen_id": citizen_id,
        "root_id": root,
        "records": records,
        "merges": [merge_view(row) for row in merges_of(session, citizen_id)],
        "appeals": [
            {
                "id": appeal.id,
                "tracking_number": appeal.tracking_number,
                "status": appeal.status.value,
                "channel": appeal.channel.value,
                "category_code": appeal.category_code,
                "received_at": appeal.received_at,
                "citizen_id": appeal.citizen_id,
            }
            for appeal in appeals
        ],
        "appeals_total": int(total or 0),
    }
