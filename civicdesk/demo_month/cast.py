"""The staff who act in the demo month: call operators, inspectors, an executor per body.

The development accounts (``civicdesk init``) act where they fit (``medeu`` for the Medeu
akimat, ``inspector`` …), so signing in as one shows their own month. The others are
created here as *actors*: their password hash is a placeholder no password matches, so
nobody can sign in as them; they exist so every step of the history names a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Role, StaffUser
from routing.models import Organization

#: Not an Argon2 hash: ``core.security.verify_password`` refuses every password for it.
LOCKED_PASSWORD = "!demo-actor: no sign-in"  # noqa: S105 - deliberately matches nothing
OPERATOR_SEATS = 6
INSPECTORS = 3
#: Invented names of the actors (no real person).
_NAMES = (
    "Асем Нурланова", "Ержан Сапаров", "Камила Ахметова", "Данияр Омаров", "Гаухар Бекова",
    "Олжас Тлеуов", "Мария Ким", "Нурсултан Жумабаев", "Сабина Ергалиева", "Бауыржан Касымов",
    "Татьяна Иванова", "Әлия Серікқызы", "Арман Абдрахманов", "Жанна Муратова",
)  # fmt: skip


@dataclass
class Cast:
    operators: list[StaffUser]
    inspectors: list[StaffUser]
    executors: dict[int, StaffUser] = field(default_factory=dict)  # organization id → one

    def interface_of(self, operator: StaffUser) -> str:
        assert operator.sip_interface is not None
        return operator.sip_interface


def _actor(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    organization_id: int | None = None,
    sip_interface: str | None = None,
) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        user = StaffUser(
            username=username,
            full_name=full_name,
            role=role,
            organization_id=organization_id,
            password_hash=LOCKED_PASSWORD,
            is_active=True,
            sip_interface=sip_interface,
        )
        session.add(user)
        session.flush()
    return user


def assemble(session: Session) -> Cast:
    """Find or create the month's staff (idempotent: a second month reuses them)."""
    active = list(
        session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
        )
    )
    # Operators need a queue interface so their calls are attributed; existing operators
    # with one join the demo's seats.
    operators = [u for u in active if u.role is Role.OPERATOR and u.sip_interface]
    taken = {u.sip_interface for u in active if u.sip_interface}
    seat = 0
    while len(operators) < OPERATOR_SEATS:
        seat += 1
        interface = f"PJSIP/{2000 + seat}"
        if interface in taken:
            continue
        operators.append(
            _actor(
                session,
                username=f"demo-operator-{2000 + seat}",
                full_name=_NAMES[seat % len(_NAMES)],
                role=Role.OPERATOR,
                sip_interface=interface,
            )
        )
    inspectors = [u for u in active if u.role is Role.INSPECTOR]
    number = 0
    while len(inspectors) < INSPECTORS:
        number += 1
        username = f"demo-inspector-{number}"
        if any(u.username == username for u in inspectors):
            continue
        inspectors.append(
            _actor(
                session,
                username=username,
                full_name=_NAMES[(8 + number) % len(_NAMES)],
                role=Role.INSPECTOR,
            )
        )
    cast = Cast(operators=operators, inspectors=inspectors)
    for user in active:
        if user.role is Role.EXECUTOR and user.organization_id is not None:
            cast.executors.setdefault(user.organization_id, user)
    return cast


def executor_for(session: Session, cast: Cast, organization_id: int) -> StaffUser:
    """The organization's executor in the month (created the first time it is needed)."""
    found = cast.executors.get(organization_id)
    if found is None:
        organization = session.get(Organization, organization_id)
        assert organization is not None
        found = _actor(
            session,
            username=f"demo-executor-{organization.code}"[:64],
            full_name=_NAMES[organization_id % len(_NAMES)],
            role=Role.EXECUTOR,
            organization_id=organization_id,
        )
        cast.executors[organization_id] = found
    return found
