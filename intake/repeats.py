"""Repeats and duplicates against the database: find candidates, judge, record the links.

The pipeline calls ``link_batch`` for every appeal it registers. Candidates come
from two indexed queries (the citizen's group's recent appeals; the same topic in
the same district recently); ``intake.matching`` judges them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import identity
from intake.matching import AppealFacts, Match, MatchRules, best_matches
from intake.models import Appeal, AppealLink, Incident, LinkKind
from nlp.annotate import normalize
from nlp.places import extract_places

CANDIDATE_LIMIT = 300
_COLUMNS = (
    Appeal.id,
    Appeal.citizen_id,
    Appeal.category_code,
    Appeal.district_code,
    Appeal.address,
    Appeal.text,
    Appeal.received_at,
)


def facts(row: Any, group_root: int | None) -> AppealFacts:
    place_text = f"{row.address or ''} {row.text}"
    return AppealFacts(
        id=row.id,
        citizen_group=group_root,
        category_code=row.category_code,
        district_code=row.district_code,
        places=tuple(extract_places(place_text)),
        text=normalize(row.text),
        received_at=row.received_at,
    )


def candidates(
    session: Session, new: AppealFacts, group: list[int], rules: MatchRules
) -> list[AppealFacts]:
    """Earlier appeals worth comparing: the same person's, and the same topic nearby."""
    found: list[AppealFacts] = []
    if group:
        since = new.received_at - timedelta(days=rules.repeat_window_days)
        rows = session.execute(
            select(*_COLUMNS)
            .where(Appeal.citizen_id.in_(group), Appeal.received_at >= since)
            .where(Appeal.received_at <= new.received_at, Appeal.id != new.id)
            .order_by(Appeal.received_at.desc())
            .limit(CANDIDATE_LIMIT)
        ).all()
        found += [facts(row, new.citizen_group) for row in rows]
    if new.category_code and (new.district_code or new.places):
        since = new.received_at - timedelta(days=rules.duplicate_window_days)
        query = (
            select(*_COLUMNS)
            .where(
                Appeal.category_code == new.category_code,
                Appeal.received_at >= since,
                Appeal.received_at <= new.received_at,
                Appeal.id != new.id,
            )
            .order_by(Appeal.received_at.desc())
            .limit(CANDIDATE_LIMIT)
        )
        if new.district_code:
            # Same district, or unknown (a street that spans districts).
            query = query.where(
                (Appeal.district_code == new.district_code) | Appeal.district_code.is_(None)
            )
        if group:
            query = query.where(Appeal.citizen_id.not_in(group) | Appeal.citizen_id.is_(None))
        found += [facts(row, None) for row in session.execute(query)]
    return found


def find_matches(
    session: Session, appeal_id: int, rules: MatchRules | None = None
) -> tuple[Match | None, Match | None]:
    """The best repeat and duplicate for one stored appeal (``evidence["other_id"]`` names it)."""
    rules = rules or MatchRules()
    row = session.execute(select(*_COLUMNS).where(Appeal.id == appeal_id)).one()
    root = identity.root_of(session, row.citizen_id) if row.citizen_id else None
    group = identity.group_ids(session, root) if root is not None else []
    new = facts(row, root)
    return best_matches(new, candidates(session, new, group, rules), rules)


def record(session: Session, appeal: Appeal, repeat: Match | None, duplicate: Match | None) -> None:
    """Store the links with their evidence; a duplicate joins (or starts) an incident."""
    if repeat is not None:
        earlier = int(repeat.evidence["other_id"])
        session.add(
            AppealLink(
                appeal_id=appeal.id,
                other_id=earlier,
                kind=LinkKind.REPEAT,
                score=repeat.score,
                evidence=repeat.evidence,
            )
        )
        appeal.is_repeat = True
        appeal.earlier_appeal_id = earlier
    if duplicate is not None:
        other_id = int(duplicate.evidence["other_id"])
        session.add(
            AppealLink(
                appeal_id=appeal.id,
                other_id=other_id,
                kind=LinkKind.DUPLICATE,
                score=duplicate.score,
                evidence=duplicate.evidence,
            )
        )
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
