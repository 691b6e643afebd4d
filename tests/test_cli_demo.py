"""The command line as an operator of the system uses it: init, then demo, on both backends."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import run_civicdesk

KEYS = {"by_status", "by_category", "by_organization", "by_district", "elapsed_s"}


civicdesk = run_civicdesk


def check_report(report: dict[str, Any], appeals: int) -> None:
    assert set(report) >= KEYS
    for key in ("by_status", "by_category", "by_organization", "by_district"):
        assert sum(report[key].values()) == appeals, key
    assert "received" not in report["by_status"]  # every appeal went through the pipeline
    assert report["by_status"].get("assigned", 0) >= appeals * 0.6
    assert len(report["by_district"]) >= 6
    assert len(report["by_organization"]) >= 10


def test_init_and_demo_on_the_embedded_default(tmp_path: Path) -> None:
    env = {"CIVICDESK_DATABASE_URL": f"sqlite:///{tmp_path}/civicdesk.sqlite3"}
    init = civicdesk(env, "init")
    assert "civicdesk-demo" in init.stdout  # development accounts were created
    again = civicdesk(env, "init")  # idempotent
    assert json.loads(again.stdout.splitlines()[0])["organizations"] >= 50
    demo = civicdesk(env, "demo", "--appeals", "120", "--json")
    report = json.loads(demo.stdout)
    check_report(report, 120)
    assert report["jobs"] == "inline"


def test_demo_on_postgresql_with_rq_workers(scratch_schema: str, redis_url: str) -> None:
    env = {
        "CIVICDESK_DATABASE_URL": scratch_schema,
        "CIVICDESK_REDIS_URL": redis_url,
        "CIVICDESK_QUEUE_NAME": f"civicdesk-cli-{uuid.uuid4().hex[:8]}",
        "CIVICDESK_ENVIRONMENT": "test",
    }
    civicdesk(env, "init")
    demo = civicdesk(env, "demo", "--appeals", "150", "--workers", "2", "--json")
    report = json.loads(demo.stdout)
    check_report(report, 150)
    assert report["jobs"] == "rq (2 workers)"
    assert report["backend"] == "postgresql"
    # the demo stops its workers itself and says how (a busy one is killed after the grace)
    assert sum(report["workers_stopped"].values()) == 2, report["workers_stopped"]
