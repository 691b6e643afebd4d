"""The console pops the caller's card out of the box (issue 14, item 9).

``make run``'s defaults have no Redis, and ``civicdesk ami replay`` (or ``ami listen``) runs
in another process than the web server: the pop crosses through the database
(``screen_pops``). The development ``operator`` answers as PJSIP/1001, the member the sample
log connects its first caller to.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from channels.telephony.screen_pop import DatabaseScreenPopBus, ScreenPop, screen_pop_bus
from core import db
from core.models import StaffUser
from core.settings import Settings
from tests.conftest import run_civicdesk

pytestmark = pytest.mark.postgres

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "ami" / "sample_calls.log"


def test_without_redis_the_bus_is_the_database() -> None:
    assert isinstance(
        screen_pop_bus(Settings(environment="test", redis_url=None)), DatabaseScreenPopBus
    )


def test_a_replay_in_another_process_pops_the_dev_operators_console(
    scratch_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    env = {
        **clean,
        "CIVICDESK_ENVIRONMENT": "development",
        "CIVICDESK_DATABASE_URL": scratch_schema,
    }

    run_civicdesk(env, "init")
    engine = db.make_engine(scratch_schema)
    monkeypatch.setattr(db, "_engine", engine)
    monkeypatch.setattr(db, "_session_factory", sessionmaker(bind=engine, expire_on_commit=False))
    try:
        with db.transaction() as session:
            operator = session.scalar(select(StaffUser).where(StaffUser.username == "operator"))
            assert operator is not None and operator.sip_interface == "PJSIP/1001"
            operator_id = operator.id
        bus = screen_pop_bus(Settings(environment="development", redis_url=None))

        async def scenario() -> ScreenPop:
            pops = bus.subscribe(operator_id).__aiter__()
            waiting = asyncio.ensure_future(pops.__anext__())
            await asyncio.sleep(0.5)  # subscribed: the newest row is known
            await asyncio.to_thread(run_civicdesk, env, "ami", "replay", str(SAMPLE))
            try:
                return await asyncio.wait_for(waiting, 10)
            finally:
                await pops.aclose()  # type: ignore[attr-defined]

        pop = asyncio.run(scenario())
        assert pop.operator_id == operator_id and pop.queue == "1308"
    finally:
        engine.dispose()


def test_a_pop_is_given_once_even_when_it_comes_both_ways(
    scratch_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the listener's own process a pop arrives in memory at once and again from the
    table: the console gets it once."""
    from channels.telephony.screen_pop import MemoryScreenPopBus
    from core.migrate import upgrade

    upgrade(scratch_schema)
    engine = db.make_engine(scratch_schema)
    monkeypatch.setattr(db, "_engine", engine)
    monkeypatch.setattr(db, "_session_factory", sessionmaker(bind=engine, expire_on_commit=False))
    bus = DatabaseScreenPopBus(MemoryScreenPopBus())
    pop = ScreenPop(
        call_id=99,
        uniqueid="1795147200.999",
        caller_e164=None,
        queue="1308",
        operator_id=424242,
        connected_at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
    )

    async def scenario() -> list[ScreenPop]:
        pops = bus.subscribe(424242).__aiter__()
        first = asyncio.ensure_future(pops.__anext__())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(bus.publish, pop)
        got = [await asyncio.wait_for(first, 5)]
        second = asyncio.ensure_future(pops.__anext__())
        await asyncio.sleep(1.0)  # several polls: the stored row is the same pop
        assert not second.done()
        second.cancel()
        return got

    try:
        assert asyncio.run(scenario()) == [pop]
    finally:
        engine.dispose()
