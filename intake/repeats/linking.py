"""Repeats and duplicates against the database: find candidates, judge, record the links.

The pipeline calls ``link_batch`` for every appeal it registers. Candidates come
from two indexed queries (the citizen's group's recent appeals; the same topic in
the same district recently); ``intake.repeats.matching`` judges them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from appeals.models import Appeal, AppealLink, Citizen, Incident, LinkKind
from intake.repeats import identity
from intake.repeats.matching import AppealFacts, Match, MatchRules, best_matches, match_keys
from nlp.places import extract_places

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


def link_appeals(session: Session, appeal_ids: list[int], rules: MatchRules | None = None) -> int:
    """The pipeline step: look for a repeat and a duplicate of each appeal; returns links made."""
    made = 0
    for appeal_id in appeal_ids:
        repeat, duplicate = find_matches(session, appeal_id, rules)
        if repeat is None and duplicate is None:
            continue
        appeal = session.get(Appeal, appeal_id)
        if appeal is None:
            continue
        record(session, appeal, repeat, duplicate)
        made += (repeat is not None) + (duplicate is not None)
    session.flush()
    return made
