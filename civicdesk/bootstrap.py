"""First-run setup: schema, reference data, calendar, and (in development only) demo accounts."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import db
from core.migrate import upgrade
from core.models import Role, StaffUser
from core.security import create_staff_user
from core.settings import Settings
from routing.reference import load_reference
from routing.service import organization_by_code
from sla.service import seed_calendar_overrides

log = logging.getLogger(__name__)
DEMO_PASSWORD = "civicdesk-demo"  # noqa: S105 - development only; refused in production below
DEMO_ACCOUNTS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("admin", "Администратор", Role.ADMIN, None),
    ("operator", "Оператор 1308", Role.OPERATOR, None),
    ("inspector", "Инспектор", Role.INSPECTOR, None),
    ("analyst", "Аналитик", Role.ANALYST, None),
    ("medeu", "Исполнитель акимата Медеуского района", Role.EXECUTOR, "akimat-medeu"),
    ("almaly", "Исполнитель акимата Алмалинского района", Role.EXECUTOR, "akimat-almaly"),
    ("water", "Исполнитель «Алматы Су»", Role.EXECUTOR, "almaty-su"),
)


def load_all_reference(session: Session, settings: Settings) -> dict[str, int]:
    counts = load_reference(session, settings.data_dir)
    counts["calendar_overrides_added"] = seed_calendar_overrides(session)
    return counts


def create_demo_accounts(session: Session, settings: Settings) -> list[str]:
    if settings.environment == "production":
        raise RuntimeError("demo accounts are never created in production")
    created = []
    for username, full_name, role, org_code in DEMO_ACCOUNTS:
        if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
            continue
        organization_id = organization_by_code(session, org_code).id if org_code else None
        create_staff_user(
            session,
            username=username,
            full_name=full_name,
            role=role,
            password=DEMO_PASSWORD,
            organization_id=organization_id,
        )
        created.append(username)
    return created


def initialize(settings: Settings, *, demo_accounts: bool) -> dict[str, object]:
    upgrade(settings.database_url)
    db.configure(settings)
    with db.transaction() as session:
        counts: dict[str, object] = dict(load_all_reference(session, settings))
        if demo_accounts:
            counts["demo_accounts"] = create_demo_accounts(session, settings)
            # Example knowledge-base articles (issue 15), marked as such; development only.
            from knowledge_base.seed import seed_examples

            counts["kb_example_articles"] = seed_examples(session, settings.data_dir)
    return counts
