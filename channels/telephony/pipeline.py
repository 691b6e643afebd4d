"""One pipeline for live AMI events, replays and the benchmark: parse → state → DB → screen-pop.

``EventPipeline.process`` takes a batch of AMI events (dicts with lower-cased keys),
interprets them, applies them in one transaction and, after the commit, publishes the
screen-pops. It counts what it saw; it logs event names and counts, never caller
numbers or names (personal data stays out of logs).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

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
from channels.telephony.service import OperatorDirectory, apply_updates
from core import db
from core.clock import now

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    """Counters since the pipeline started (the listener logs them; tests read them)."""

    events: int = 0
    applied: int = 0
    unknown: int = 0
    malformed: int = 0
    skipped: int = 0
    no_call: int = 0
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

    def apply(self, session: Session, updates: list[Update]) -> list[ScreenPop]:
        """Apply in the caller's transaction; the caller commits then calls ``publish``."""
        result = apply_updates(session, updates, operators=self.operators)
        self.stats.applied += result.applied
        self.stats.no_call += result.no_call
        return result.pops

    def publish(self, pops: list[ScreenPop]) -> None:
        for pop in pops:
            self.stats.pops += 1
            if self.bus is not None:
                try:
                    self.bus.publish(pop)
                except Exception:  # a lost pop is a missed hint, never a lost call record
                    log.exception("screen-pop for call %s not published", pop.call_id)
            if self._on_pop is not None:
                self._on_pop(pop)

    def process(
        self, events: Iterable[Mapping[str, str]], *, received_at: datetime | None = None
    ) -> list[ScreenPop]:
        """Interpret, apply in one transaction, commit, then publish the screen-pops."""
        updates = self.interpret_all(events, received_at=received_at)
        if not updates:
            return []
        with db.transaction() as session:
            pops = self.apply(session, updates)
        self.publish(pops)
        return pops

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


def _is_banner(block: str) -> bool:
    return is_banner_only(block) or all(
        line.strip().startswith("#") for line in block.splitlines() if line.strip()
    )
