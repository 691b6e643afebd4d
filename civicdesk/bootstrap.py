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


#: The development ``operator`` answers the 1308 queue as PJSIP/1001, the member the sample
#: AMI log (data/ami/sample_calls.log) connects its first caller to: ``ami replay`` pops
#: that caller's card on the operator's console out of the box (issue 14, item 9).
DEMO_SIP_INTERFACES: dict[str, str] = {"operator": "PJSIP/1001"}


def load_all_reference(session: Session, settings: Settings) -> dict[str, int]:
    counts = load_reference(session, settings.data_dir)
    counts["calendar_overrides_added"] = seed_calendar_overrides(session)
    return counts


def create_demo_accounts(session: Session, settings: Settings) -> list[str]:
    if settings.environment == "production":
        raise RuntimeError("demo accounts are never created in production")
    created = []
    for username, full_name, role, org_code in DEMO_ACCOUNTS:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            organization_id = organization_by_code(session, org_code).id if org_code else None
            user = create_staff_user(
                session,
                username=username,
                full_name=full_name,
                role=role,
                password=DEMO_PASSWORD,
                organization_id=organization_id,
            )
            created.append(username)
        interface = DEMO_SIP_INTERFACES.get(username)
        if interface and user.sip_interface is None:
            taken = session.scalar(select(StaffUser.id).where(StaffUser.sip_interface == interface))
            if taken is None:
                user.sip_interface = interface
                session.flush()
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
