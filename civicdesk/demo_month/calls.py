"""The month's calls to 1308 as Asterisk reports them: AMI events through the listener's
pipeline, so the call-center tables (calls, missed rings, operator ratings, queue members)
hold what a real month's event stream would have left there.

The events are built by ``channels.telephony.scenarios`` (the streams the tests and the
benchmark replay), written in the AMI wire format and read back by its parser, then
interpreted and applied in the caller's transaction (``EventPipeline.apply``); no
screen-pop is published (the calls are in the past).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.telephony import scenarios
from channels.telephony.events import parse_block, split_blocks
from channels.telephony.models import Call
from channels.telephony.pipeline import EventPipeline
from core.clock import now

#: Share of answered calls whose caller rates the operator in the IVR afterwards.
IVR_RATING_SHARE = 0.3
OPERATOR_SCORES = {5: 70, 4: 18, 3: 6, 2: 3, 1: 3}
WITHHELD_SHARE = 0.06


@dataclass(frozen=True)
class PlacedCall:
    call_id: int
    connected_at: datetime
    ended_at: datetime


class Switchboard:
    """Turns the month's calls into AMI events and applies them."""

    def __init__(self, serial_base: int) -> None:
        self.pipeline = EventPipeline(bus=None)
        self.serial = serial_base

    def _apply(self, session: Session, events: list[scenarios.Event]) -> None:
        wire = scenarios.render_all(events)
        parsed = [event for block in split_blocks(wire) if (event := parse_block(block))]
        updates = self.pipeline.interpret_all(parsed, received_at=now())
        result = self.pipeline.apply(session, updates)
        self.pipeline.count(result)

    def _next_serial(self) -> int:
        self.serial += 2
        return self.serial

    def answered(
        self,
        session: Session,
        *,
        at: datetime,
        phone: str | None,
        interface: str,
        operator_name: str,
        rng: random.Random,
    ) -> PlacedCall:
        """An answered call from ``phone`` taken by ``interface``; returns its row's id."""
        hold = int(rng.triangular(3, 150, 15))
        talk = int(rng.triangular(45, 420, 150))
        rating = None
        if rng.random() < IVR_RATING_SHARE:
            rating = rng.choices(list(OPERATOR_SCORES), list(OPERATOR_SCORES.values()))[0]
        withheld = phone is None or rng.random() < WITHHELD_SHARE
        serial = self._next_serial()
        events = scenarios.answered_call(
            t0=at.timestamp(),
            serial=serial,
            caller="anonymous" if withheld else str(phone),
            interface=interface,
            member_name=operator_name,
            hold_s=hold,
            talk_s=talk,
            rating=rating,
        )
        self._apply(session, events)
        uniqueid = scenarios.ids(at.timestamp(), serial, interface).caller
        call_id = session.scalar(select(Call.id).where(Call.uniqueid == uniqueid))
        assert call_id is not None, "the answered call was not recorded"
        connected = datetime.fromtimestamp(at.timestamp() + 4 + hold, at.tzinfo)
        ended = datetime.fromtimestamp(at.timestamp() + 4 + hold + talk, at.tzinfo)
        return PlacedCall(int(call_id), connected, ended)

    def abandoned(
        self, session: Session, *, at: datetime, phone: str, interface: str, rng: random.Random
    ) -> None:
        """A caller who hung up in the queue while an operator's phone rang unanswered."""
        self._apply(
            session,
            scenarios.abandoned_call(
                t0=at.timestamp(),
                serial=self._next_serial(),
                caller=phone,
                hold_s=int(rng.triangular(20, 240, 60)),
                interface=interface,
            ),
        )

    def seats(
        self, session: Session, *, at: datetime, members: list[tuple[str, str]], paused: int
    ) -> None:
        """The queue's members as the month ends (``paused`` of them on a break)."""
        self._apply(
            session,
            [
                scenarios.member_status(
                    at=at.timestamp(),
                    interface=interface,
                    member_name=name,
                    paused=index < paused,
                    event="QueueMemberPause" if index < paused else "QueueMemberStatus",
                )
                for index, (interface, name) in enumerate(members)
            ],
        )
