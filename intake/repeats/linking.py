"""Repeats and duplicates against the database: find candidates, judge, record the links.

The pipeline calls ``link_appeals`` for the appeals of a batch it registers. Candidates come
from two indexed queries (the citizen's group's recent appeals; the same topic in
the same district recently); ``intake.repeats.matching`` judges them.

Several workers run batches at once (issue 20), so linking is ordered and locks in one order:
- an appeal still ``received`` is never a candidate: it belongs to a batch in flight, whose
  rows that batch holds until it commits (writing its ``incident_id`` would wait on it);
- a batch links only after every batch holding earlier appeals has committed (it waits on
  their rows with ``FOR KEY SHARE``), so a near-duplicate of an appeal in a concurrent
  earlier batch is still found, and two batches never link at the same moment;
- the rows it writes — the other appeals, then their incidents — are locked in id order
  before any write, the same order the staff's link actions take (appeal, then incident).
Two batches therefore cannot deadlock on ``incidents`` (three ``DeadlockDetected`` per run
before, each rolling a batch back into RQ's 5/30/120 s retries).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from appeals.lifecycle import Status
from appeals.models import Appeal, AppealLink, Citizen, Incident, LinkKind
from intake.repeats import identity
from intake.repeats.matching import AppealFacts, Match, MatchRules, best_matches, match_keys
from nlp.places import extract_places

log = logging.getLogger(__name__)

# The most recent candidates only: a citizen's own last appeals, a street's last reports.
REPEAT_CANDIDATES = 50
DUPLICATE_CANDIDATES = 100
_COLUMNS = (
    Appeal.id,
    Appeal.citizen_id,
    Appeal.category_code,
    Appeal.district_code,
    Appeal.address,
    Appeal.text,
    Appeal.received_at,
    Appeal.match_text,
    Appeal.place_keys,
    Appeal.street_key,
)


def facts(row: Any, group_root: int | None) -> AppealFacts:
    """Facts from the keys stored at annotation (computed here only for older rows)."""
    stored = getattr(row, "match_text", None)
    if stored is None:
        text, places, _street = match_keys(row.text, row.address)
    else:
        text, places = stored, row.place_keys or []
    return AppealFacts(
        id=row.id,
        citizen_group=group_root,
        category_code=row.category_code,
        district_code=row.district_code,
        places=tuple(places),
        text=text,
        received_at=row.received_at,
    )


def _window(since: str = "since") -> list[Any]:
    received = Appeal.received_at
    return [
        received >= bindparam(since, type_=received.type),
        received <= bindparam("until", type_=received.type),
        Appeal.id != bindparam("self_id"),
        # In flight in another batch (its rows locked until it commits): not yet comparable.
        Appeal.status != Status.RECEIVED,
    ]


@lru_cache(maxsize=1)
def _repeat_query() -> Any:
    """Built once: building a query costs more than running it (see bench/repeats.py)."""
    return (
        select(*_COLUMNS)
        .where(Appeal.citizen_id.in_(bindparam("group", expanding=True)), *_window("repeat_since"))
        .order_by(Appeal.received_at.desc())
        .limit(REPEAT_CANDIDATES)
    )


@lru_cache(maxsize=4)
def _duplicate_query(by_street: bool, exclude_group: bool) -> Any:
    query = select(*_COLUMNS).where(Appeal.category_code == bindparam("category"), *_window())
    if by_street:
        # A place named: only appeals at the same street can be the same problem there.
        query = query.where(Appeal.street_key == bindparam("street"))
    else:
        # Same district, or unknown (a street that spans districts).
        query = query.where(
            (Appeal.district_code == bindparam("district")) | Appeal.district_code.is_(None)
        )
    if exclude_group:
        query = query.where(
            Appeal.citizen_id.not_in(bindparam("group", expanding=True))
            | Appeal.citizen_id.is_(None)
        )
    return query.order_by(Appeal.received_at.desc()).limit(DUPLICATE_CANDIDATES)


@lru_cache(maxsize=8)
def _candidates_query(with_repeats: bool, duplicates: tuple[bool, bool] | None) -> Any:
    """The repeat and duplicate candidate queries as one UNION ALL: one round trip."""
    parts = []
    if with_repeats:
        parts.append(select(_repeat_query().subquery()).add_columns(literal(True).label("own")))
    if duplicates is not None:
        query = _duplicate_query(*duplicates).subquery()
        parts.append(select(query).add_columns(literal(False).label("own")))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def candidates(
    session: Session,
    new: AppealFacts,
    group: list[int],
    rules: MatchRules,
    street_key: str | None = None,
) -> list[AppealFacts]:
    """Earlier appeals worth comparing: the same person's, and the same topic nearby."""
    duplicates = (
        (bool(street_key), bool(group))
        if new.category_code and (street_key or new.district_code)
        else None
    )
    if not group and duplicates is None:
        return []
    parameters = {
        "until": new.received_at,
        "self_id": new.id,
        "group": group,
        "repeat_since": new.received_at - timedelta(days=rules.repeat_window_days),
        "since": new.received_at - timedelta(days=rules.duplicate_window_days),
        "category": new.category_code,
        "street": street_key,
        "district": new.district_code,
    }
    rows = session.execute(_candidates_query(bool(group), duplicates), parameters)
    return [facts(row, new.citizen_group if row.own else None) for row in rows]


@lru_cache(maxsize=1)
def _row_query() -> Any:
    """The appeal, and whether its citizen was ever merged (else the group is just them)."""
    children = aliased(Citizen)
    merged = select(children.id).where(children.merged_into_id == Appeal.citizen_id).exists()
    return (
        select(*_COLUMNS, Citizen.merged_into_id.label("merged_into"), merged.label("has_merged"))
        .outerjoin(Citizen, Citizen.id == Appeal.citizen_id)
        .where(Appeal.id == bindparam("appeal_id"))
    )


def find_matches(
    session: Session, appeal_id: int, rules: MatchRules | None = None
) -> tuple[Match | None, Match | None]:
    """The best repeat and duplicate for one stored appeal (``evidence["other_id"]`` names it)."""
    rules = rules or MatchRules()
    row = session.execute(_row_query(), {"appeal_id": appeal_id}).one()
    if row.citizen_id is None:
        root, group = None, []
    elif row.merged_into is None and not row.has_merged:
        root, group = row.citizen_id, [row.citizen_id]  # never merged: nearly everyone
    else:
        root, group = identity.group_of(session, row.citizen_id)
    new = facts(row, root)
    street_key = (
        row.street_key if row.match_text is not None else match_keys(row.text, row.address)[2]
    )
    return best_matches(new, candidates(session, new, group, rules, street_key), rules)


def _add_link(session: Session, appeal: Appeal, match: Match, kind: LinkKind) -> int:
    other_id = int(match.evidence["other_id"])
    session.add(
        AppealLink(
            appeal_id=appeal.id,
            other_id=other_id,
            kind=kind,
            score=match.score,
            evidence=match.evidence,
        )
    )
    return other_id


def record(session: Session, appeal: Appeal, repeat: Match | None, duplicate: Match | None) -> None:
    """Store the links with their evidence; a duplicate joins (or starts) an incident."""
    if repeat is not None:
        appeal.earlier_appeal_id = _add_link(session, appeal, repeat, LinkKind.REPEAT)
        appeal.is_repeat = True
    if duplicate is not None:
        other_id = _add_link(session, appeal, duplicate, LinkKind.DUPLICATE)
        other = session.get(Appeal, other_id)
        if other is not None:
            join_incident(session, appeal, other)


def join_incident(session: Session, appeal: Appeal, other: Appeal) -> Incident:
    """Put ``appeal`` in ``other``'s incident, starting one if ``other`` has none."""
    incident = session.get(Incident, other.incident_id) if other.incident_id else None
    if incident is None:
        incident = Incident(
            category_code=other.category_code or appeal.category_code or "",
            district_code=other.district_code,
            place=(extract_places(f"{other.address or ''} {other.text}") or [""])[0],
            organization_id=other.organization_id,
            first_at=other.received_at,
            last_at=other.received_at,
            appeals_count=1,
        )
        session.add(incident)
        session.flush()
        other.incident_id = incident.id
    appeal.incident_id = incident.id
    incident.appeals_count += 1
    incident.last_at = max(incident.last_at, appeal.received_at)
    incident.organization_id = incident.organization_id or appeal.organization_id
    return incident


def wait_for_earlier_batches(session: Session, first_id: int) -> None:
    """Wait until no batch holds an appeal older than ``first_id`` (PostgreSQL only).

    ``FOR KEY SHARE`` waits for a batch's ``FOR UPDATE`` claim but not for another waiter, and
    rows that are done are dropped when rechecked after the wait. A batch waits only for
    batches whose first appeal is older than its own, so the waits cannot form a cycle; an
    unclaimed appeal it touches is skipped by claims (``SKIP LOCKED``) until it commits.
    """
    session.execute(
        select(Appeal.id)
        .where(Appeal.status == Status.RECEIVED, Appeal.id < first_id)
        .order_by(Appeal.id)
        .with_for_update(read=True, key_share=True)
    ).all()


def _lock_in_order(session: Session, other_ids: set[int]) -> None:
    """Lock the appeals a batch links to, then their incidents, each in id order."""
    if not other_ids:
        return
    others = session.scalars(
        select(Appeal)
        .where(Appeal.id.in_(sorted(other_ids)))
        .order_by(Appeal.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    incident_ids = sorted({other.incident_id for other in others if other.incident_id})
    if incident_ids:
        session.scalars(
            select(Incident)
            .where(Incident.id.in_(incident_ids))
            .order_by(Incident.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


def link_appeals(session: Session, appeal_ids: list[int], rules: MatchRules | None = None) -> int:
    """The pipeline step: look for a repeat and a duplicate of each appeal; returns links made."""
    if not appeal_ids:
        return 0
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        started = time.monotonic()
        wait_for_earlier_batches(session, min(appeal_ids))
        waited = time.monotonic() - started
        if waited > 0.5:  # bench/scale.py reads these: how much a batch waits on another
            log.info("linking waited %.3f s for earlier batches", waited)
    found = []
    for appeal_id in appeal_ids:
        repeat, duplicate = find_matches(session, appeal_id, rules)
        if repeat is not None or duplicate is not None:
            found.append((appeal_id, repeat, duplicate))
    if postgresql:
        _lock_in_order(
            session,
            {int(duplicate.evidence["other_id"]) for _, _, duplicate in found if duplicate},
        )
    made = 0
    for appeal_id, repeat, duplicate in found:
        appeal = session.get(Appeal, appeal_id)
        if appeal is None:
            continue
        record(session, appeal, repeat, duplicate)
        made += (repeat is not None) + (duplicate is not None)
    session.flush()
    return made
