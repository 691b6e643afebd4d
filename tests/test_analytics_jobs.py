"""Analytics on a schedule: each period runs once, whatever the number of workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.jobs import due_periods, previous_week, run_due
from analytics.models import AnalyticsRun
from appeals.models import Appeal
from core.clock import ALMATY
from core.settings import Settings, override_settings
from tests.analytics_support import appeal_factory


@pytest.fixture
def make_appeal(session: Session) -> Callable[..., Appeal]:
    return appeal_factory(session)


@pytest.fixture
def scheduled(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    current = settings.model_copy(
        update={"analytics_schedule": True, "analytics_export_dir": tmp_path / "export"}
    )
    with override_settings(current):
        yield current


def test_periods_follow_almaty_time(settings: Settings) -> None:
    on = settings.model_copy(update={"analytics_burst_hours": [10, 14, 18, 23]})
    monday_early = datetime(2026, 12, 7, 1, 30, tzinfo=ALMATY)
    assert [d.kind for d in due_periods(monday_early, on)] == []
    monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=ALMATY)
    assert {(d.kind, d.period) for d in due_periods(monday_noon, on)} == {
        ("export", "2026-12-07"),
        ("hotspots", "2026-12-07"),
        ("bursts", "2026-12-07T10"),
        ("report", "2026-W49"),
    }
    # 20:30 UTC on Sunday is already Monday 01:30 in Almaty: last week's report is not due yet.
    assert previous_week(datetime(2026, 12, 7, 1, 30, tzinfo=ALMATY)) == "2026-W49"
    wednesday = datetime(2026, 12, 9, 23, 5, tzinfo=ALMATY)
    assert ("bursts", "2026-12-09T23") in {(d.kind, d.period) for d in due_periods(wednesday, on)}


def test_schedule_is_off_under_the_test_environment_unless_asked(settings: Settings) -> None:
    assert settings.analytics_schedule is None
    assert run_due(moment=datetime(2026, 12, 7, 12, tzinfo=ALMATY), settings=settings) == []


def test_the_nightly_export_runs_once_per_day(
    session: Session, scheduled: Settings, make_appeal: Callable[..., Appeal]
) -> None:
    make_appeal(received_at=datetime(2026, 12, 6, 10, tzinfo=ALMATY))
    night = datetime(2026, 12, 7, 2, 5, tzinfo=ALMATY)
    assert run_due(moment=night, settings=scheduled, kinds=("export",)) == ["export:2026-12-07"]
    assert (scheduled.analytics_export_dir / "appeals" / "month=2026-12").exists()
    assert run_due(moment=night, settings=scheduled, kinds=("export",)) == []
    run = session.scalar(select(AnalyticsRun).where(AnalyticsRun.kind == "export"))
    assert run is not None and run.finished_at is not None and run.result["appeals"] >= 1
    next_night = datetime(2026, 12, 8, 2, 5, tzinfo=ALMATY)
    assert run_due(moment=next_night, settings=scheduled, kinds=("export",)) == [
        "export:2026-12-08"
    ]


def test_cli_export_writes_the_dataset(
    session: Session,
    settings: Settings,
    tmp_path: Path,
    make_appeal: Callable[..., Appeal],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from civicdesk.cli import main
    from core import db

    make_appeal(received_at=datetime(2026, 11, 6, 10, tzinfo=ALMATY))
    monkeypatch.setattr(db, "configure", lambda *args, **kwargs: None)  # keep the test's session
    out = tmp_path / "situation-center"
    assert main(["analytics", "export", "--out", str(out), "--since", "2026-11-01"]) == 0
    printed = capsys.readouterr().out
    assert '"mode": "since"' in printed and '"2026-11"' in printed
    assert (out / "csv" / "appeals-2026-11.csv").exists()
    with pytest.raises(SystemExit):
        main(["analytics", "export", "--out", str(out), "--since", "yesterday"])
