"""``civicdesk ami listen``: the AMI session, the event pipeline, QueueSummary polling, callbacks.

Async edges stay thin: panoramisk's callback only puts the event on a queue; a consumer
drains it in batches and runs the synchronous pipeline (DB work) in a thread, then the
screen-pops go out after commit. If the database is down, the batch is kept and tried
again (events are idempotent, so a retried batch is harmless); an event the database
refuses is skipped and counted by the pipeline, so one bad event never stops the stream.
After every login the listener resyncs (``resync.py``): the channels and queue members
Asterisk lists go into the same queue, behind the events that came before them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from channels.telephony.ami import AmiClient, AmiUnavailable
from channels.telephony.originate import (
    AmiGateway,
    OriginateRequest,
    claim_requested,
    mark_failed,
)
from channels.telephony.pipeline import EventPipeline, error_code, is_transient
from channels.telephony.resync import Snapshot, apply_snapshot
from channels.telephony.screen_pop import screen_pop_bus
from core import db
from core.clock import now
from core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH = 200
CALLBACK_POLL_S = 1.0
#: After this many transient failures in a row the batch itself is suspected (a statement
#: timeout, a deadlock on one row): if the database answers, the batch is split.
TRANSIENT_TRIES = 5
Item = Mapping[str, str] | Snapshot


class AmiListener:
    def __init__(self, settings: Settings, *, pipeline: EventPipeline | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline or EventPipeline(bus=screen_pop_bus(settings))
        self.events: asyncio.Queue[Item] = asyncio.Queue()
        self.client: AmiClient | None = None
        self.gateway: AmiGateway | None = None
        # One database job at a time: events, polls and callbacks keep their order, and the
        # pipeline's counters and caches are touched by one thread at a time.
        self._db_lock = asyncio.Lock()
        self._resyncs: set[asyncio.Task[None]] = set()
        self.resynced = 0  # snapshots applied (one per login that Asterisk answered)

    async def run(self, stop: asyncio.Event) -> None:
        self.client = AmiClient.from_settings(
            self.settings,
            on_event=self.events.put_nowait,
            on_unreadable=self.pipeline.count_malformed,
            on_login=self._logged_in,
        )
        self.gateway = self.client
        self.client.start()
        tasks = [
            asyncio.create_task(self._consume(), name="ami-consume"),
            asyncio.create_task(self._poll_queues(), name="ami-queue-summary"),
            asyncio.create_task(self._dispatch_callbacks(), name="ami-callbacks"),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks + list(self._resyncs):
                task.cancel()
            await asyncio.gather(*tasks, *self._resyncs, return_exceptions=True)
            self.client.close()
            await self.drain()
            log.info("AMI listener stopped: %s", self.pipeline.stats.as_dict())

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Database work in a thread, one at a time; a cancelled caller still waits for the
        thread to finish, so its commit never overlaps the next one."""
        async with self._db_lock:
            work = asyncio.ensure_future(asyncio.to_thread(function, *args))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                await asyncio.wait([work])
                raise

    async def drain(self) -> None:
        """Process whatever is queued now (tests and shutdown)."""
        while not self.events.empty():
            await self._process(self._take_batch([]))

    def _take_batch(self, batch: list[Item]) -> list[Item]:
        while len(batch) < BATCH and not self.events.empty():
            batch.append(self.events.get_nowait())
        return batch

    async def _process(self, batch: list[Item]) -> None:
        """Events in batches; a resync snapshot is applied in its place in the line."""
        events: list[Mapping[str, str]] = []
        for item in [*batch, None]:
            if isinstance(item, Mapping):
                events.append(item)
                continue
            if events:
                await self._store_events(events)
                events = []
            if isinstance(item, Snapshot):
                await self._retrying(functools.partial(self._apply_snapshot, item))

    async def _store_events(self, events: list[Mapping[str, str]]) -> None:
        updates = await self._in_thread(self.pipeline.interpret_all, events)
        if updates:
            await self._retrying(
                lambda isolate: self.pipeline.store(updates, isolate_transient=isolate)
            )

    async def _retrying(self, store: Callable[[bool], object]) -> None:
        """Run ``store`` until the database takes it. Transient errors (the database is
        away) are retried with backoff, keeping the batch; from the ``TRANSIENT_TRIES``-th
        try on the pipeline may split it (it checks the database answers before blaming an
        event). Only the error's type and SQLSTATE are logged: a message may quote values."""
        delay, tries = 0.5, 0
        while True:
            try:
                await self._in_thread(store, tries >= TRANSIENT_TRIES)
                return
            except Exception as error:
                tries += 1
                log.warning(
                    "AMI: batch not stored (%s%s); retry %d in %.1f s",
                    error_code(error),
                    "" if is_transient(error) else ", unexpected",
                    tries,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _apply_snapshot(self, snapshot: Snapshot, _isolate: bool = False) -> None:
        with db.transaction() as session:
            result = apply_snapshot(session, snapshot, operators=self.pipeline.operators)
        self.resynced += 1
        log.info(
            "AMI resync: %d calls closed (channel gone), %d members listed, %d logged out",
            result.calls_closed,
            result.members_listed,
            result.members_logged_out,
        )

    # --- resync after each login -----------------------------------------------------------

    def _logged_in(self) -> None:
        task = asyncio.ensure_future(self._resync())
        self._resyncs.add(task)
        task.add_done_callback(self._resyncs.discard)

    async def _resync(self) -> None:
        """Ask Asterisk what is live now; queue the answer behind the events already in."""
        client = self.client
        if client is None:
            return
        asked_at = now()
        try:
            channels = await client.core_show_channels()
        except (AmiUnavailable, TimeoutError) as error:
            log.warning("AMI resync: CoreShowChannels not answered (%s)", type(error).__name__)
            return
        try:
            members: list[dict[str, str]] | None = await client.queue_status()
        except (AmiUnavailable, TimeoutError) as error:
            log.warning("AMI resync: QueueStatus not answered (%s)", type(error).__name__)
            members = None
        self.events.put_nowait(Snapshot(asked_at=asked_at, channels=channels, queue_status=members))

    async def _consume(self) -> None:
        while True:
            first = await self.events.get()
            await self._process(self._take_batch([first]))

    async def _poll_queues(self) -> None:
        interval = self.settings.ami_queue_summary_interval_s
        while True:
            await asyncio.sleep(interval if self.client and self.client.ready.is_set() else 0.2)
            if self.client is None or not self.client.ready.is_set():
                continue
            try:
                summaries = await self.client.queue_summary()
            except (AmiUnavailable, TimeoutError):
                continue
            if summaries:
                await self._process(list(summaries))

    async def _dispatch_callbacks(self) -> None:
        while True:
            await asyncio.sleep(CALLBACK_POLL_S)
            if self.client is None or not self.client.ready.is_set():
                continue
            try:
                await self.dispatch_callbacks_once()
            except Exception as error:
                log.warning("AMI: callbacks not dispatched (%s)", error_code(error))

    async def dispatch_callbacks_once(self) -> int:
        """Claim requested callbacks and Originate them; returns how many were sent."""
        gateway = self.gateway
        if gateway is None:
            return 0

        def claim() -> list[OriginateRequest]:
            with db.transaction() as session:
                return claim_requested(session, settings=self.settings)

        requests = await self._in_thread(claim)
        sent = 0
        for request in requests:
            try:
                result = await gateway.originate(request)
            except AmiUnavailable:
                result = None
            if result is not None and result.ok:
                sent += 1
                continue
            reason = result.reason if result is not None and result.reason else "ami_unavailable"
            log.warning("AMI: callback for call %s failed (%s)", request.call_id, reason)

            def fail(call_id: int = request.call_id, why: str = reason) -> None:
                with db.transaction() as session:
                    mark_failed(session, call_id=call_id, reason=why)

            await self._in_thread(fail)
        return sent
