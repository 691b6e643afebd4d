"""One pipeline for live AMI events, replays and the benchmark: parse → state → DB → screen-pop.

``EventPipeline.process`` takes a batch of AMI events (dicts with lower-cased keys),
interprets them, applies them in one transaction and, after the commit, publishes the
screen-pops. It counts what it saw; it logs event names and counts, never caller
numbers or names (personal data stays out of logs).

A batch the database refuses (``DataError``, ``IntegrityError``, a bug on one odd event)
is halved until the one update it refuses is found; that one is skipped and counted
(``rejected``, by event and SQLSTATE) and the rest is stored. A database that is down
(``OperationalError``) is no bad event: ``store`` raises and the listener tries again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from channels.telephony.events import (
    Ignored,
    Update,
    interpret,
    is_banner_only,
    parse_block,
    split_blocks,
)
from channels.telephony.screen_pop import ScreenPop, ScreenPopBus
from channels.telephony.service import ApplyResult, OperatorDirectory, apply_updates
from core import db
from core.clock import now

log = logging.getLogger(__name__)
#: Errors that say "the database is not there now", not "this event is bad".
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pool connection in time
)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT_ERRORS)


def error_code(error: BaseException) -> str:
    """A stable name for a failure that carries no data: the type and, for database
    errors, the SQLSTATE ("DataError/22003"). Never the message: PostgreSQL's DETAIL
    quotes the row's values (a caller's number)."""
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return f"{type(error).__name__}/{state}" if state else type(error).__name__


@dataclass
class PipelineStats:
    """Counters since the pipeline started (the listener logs them; tests read them)."""

    events: int = 0
    applied: int = 0
    unknown: int = 0
    malformed: int = 0
    skipped: int = 0
    no_call: int = 0
    rejected: int = 0  # read but refused by the database; skipped so the rest is stored
    pops: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "applied": self.applied,
            "unknown": self.unknown,
            "malformed": self.malformed,
            "skipped": self.skipped,
            "no_call": self.no_call,
            "rejected": self.rejected,
            "screen_pops": self.pops,
        }


class EventPipeline:
    """Stateless apart from counters and the operator cache: the database holds call state."""

    def __init__(
        self,
        *,
        bus: ScreenPopBus | None,
        on_pop: Callable[[ScreenPop], None] | None = None,
    ) -> None:
        self.bus = bus
        self.stats = PipelineStats()
        self.operators = OperatorDirectory()
        self._on_pop = on_pop

    def count_malformed(self, reason: str = "unreadable_block") -> None:
        """A block that was not an AMI message at all (the protocol layer reports these)."""
        self.stats.events += 1
        self.stats.malformed += 1
        self.stats.by_reason[reason] += 1
        log.warning("AMI: unreadable block ignored (%s)", reason)

    def interpret_all(
        self, events: Iterable[Mapping[str, str]], *, received_at: datetime | None = None
    ) -> list[Update]:
        moment = received_at or now()
        updates: list[Update] = []
        for event in events:
            self.stats.events += 1
            outcome = interpret(event, received_at=moment)
            if isinstance(outcome, Ignored):
                self._count_ignored(outcome)
            else:
                updates.append(outcome)
        return updates

    def _count_ignored(self, outcome: Ignored) -> None:
        self.stats.by_reason[f"{outcome.kind}:{outcome.reason}"] += 1
        if outcome.kind == "unknown":
            self.stats.unknown += 1
            log.debug("AMI: event %s not handled", outcome.event[:40])
        elif outcome.kind == "malformed":
            self.stats.malformed += 1
            log.warning("AMI: malformed %s ignored (%s)", outcome.event[:40], outcome.reason)
        else:
            self.stats.skipped += 1

    def apply(self, session: Session, updates: Sequence[Update]) -> ApplyResult:
        """Apply in the caller's transaction; the caller commits, then ``count`` and
        ``publish``."""
        return apply_updates(session, updates, operators=self.operators)

    def count(self, result: ApplyResult) -> None:
        self.stats.applied += result.applied
        self.stats.no_call += result.no_call

    def publish(self, pops: list[ScreenPop]) -> None:
        for pop in pops:
            self.stats.pops += 1
            if self.bus is not None:
                try:
                    self.bus.publish(pop)
                except Exception as error:  # a lost pop is a missed hint, never a lost record
                    log.warning(
                        "screen-pop for call %s not published (%s)", pop.call_id, error_code(error)
                    )
            if self._on_pop is not None:
                self._on_pop(pop)

    def _store_once(self, updates: Sequence[Update]) -> list[ScreenPop]:
        with db.transaction() as session:
            result = self.apply(session, updates)
        self.count(result)
        self.publish(result.pops)
        return result.pops

    def store(
        self, updates: Sequence[Update], *, isolate_transient: bool = False
    ) -> list[ScreenPop]:
        """Apply ``updates`` in one transaction, commit, publish the screen-pops.

        An update the database refuses is found by halving the batch and is skipped and
        counted. A transient error (the database is away) is raised for the caller to
        retry, unless ``isolate_transient``: then it is treated as this batch's fault if
        the database answers a plain ``SELECT 1`` (a statement timeout, a deadlock).
        """
        if not updates:
            return []
        try:
            return self._store_once(updates)
        except Exception as error:
            if is_transient(error) and not isolate_transient:
                raise
            if len(updates) == 1:
                if is_transient(error) and not database_answers():
                    raise
                self._reject(updates[0], error)
                return []
        middle = len(updates) // 2
        first = self.store(updates[:middle], isolate_transient=isolate_transient)
        return first + self.store(updates[middle:], isolate_transient=isolate_transient)

    def _reject(self, update: Update, error: BaseException) -> None:
        code = error_code(error)
        self.stats.rejected += 1
        self.stats.by_reason[f"rejected:{update.event}:{code}"] += 1
        log.error("AMI: %s not stored, skipped (%s)", update.event[:40], code)

    def process(
        self, events: Iterable[Mapping[str, str]], *, received_at: datetime | None = None
    ) -> list[ScreenPop]:
        """Interpret, apply in one transaction, commit, then publish the screen-pops."""
        return self.store(self.interpret_all(events, received_at=received_at))

    def process_text(self, text: str, *, batch_size: int = 200) -> None:
        """Feed a recorded AMI stream (blank-line separated blocks) in batches."""
        batch: list[dict[str, str]] = []
        for block in split_blocks(text):
            parsed = parse_block(block)
            if parsed is None:
                if not _is_banner(block):
                    self.count_malformed()
                continue
            batch.append(parsed)
            if len(batch) >= batch_size:
                self.process(batch)
                batch = []
        if batch:
            self.process(batch)


def database_answers() -> bool:
    """Whether the database takes a trivial query now (is an error the batch's fault?)."""
    try:
        with db.transaction() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def _is_banner(block: str) -> bool:
    return is_banner_only(block) or all(
        line.strip().startswith("#") for line in block.splitlines() if line.strip()
    )
