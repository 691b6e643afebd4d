"""``civicdesk demo``: push N varied sample appeals through the whole pipeline and count them.

Each appeal is submitted in its own transaction, as a channel would; with Redis
configured the pipeline runs in RQ worker processes started here.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import yaml
from sqlalchemy import func, select

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from core import db
from core.settings import Settings
from intake.schemas import CitizenContact, IncomingContact
from intake.service import submit
from routing.models import District, Organization

log = logging.getLogger(__name__)

CHANNEL_WEIGHTS = {
    Channel.PHONE: 45,
    Channel.SOCIAL: 25,
    Channel.PORTAL: 12,
    Channel.TELEGRAM: 10,
    Channel.WHATSAPP: 5,
    Channel.FRONT_OFFICE: 3,
}
STREETS = ("Абая", "Толе би", "Сейфуллина", "Жандосова", "Райымбека", "Розыбакиева", "Момышулы")


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def sample_contacts(
    settings: Settings, count: int, *, seed: int, run_id: str
) -> Iterator[IncomingContact]:
    """Varied contacts: every category's samples, places from every district, all channels."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    samples = _load_yaml(settings.data_dir / "sample_appeals.yaml")
    districts = _load_yaml(settings.data_dir / "districts.yaml")
    channels = list(CHANNEL_WEIGHTS)
    weights = list(CHANNEL_WEIGHTS.values())
    for index in range(count):
        sample = samples[index % len(samples)] if index < len(samples) else rng.choice(samples)
        district = rng.choice(districts)
        place = (
            rng.choice(district["places"])
            if rng.random() < 0.8
            else (f"ул. {rng.choice(STREETS)}, {rng.randint(1, 180)}")
        )
        text = sample["text"].replace("{place}", place.title() if place.islower() else place)
        roll = rng.random()
        if roll < 0.04:
            citizen = CitizenContact()
        elif roll < 0.10:
            citizen = CitizenContact(full_name="Айгерим")
        else:
            citizen = CitizenContact(phone=f"+7701{rng.randint(0, 9_999_999):07d}")
        yield IncomingContact(
            channel=rng.choices(channels, weights)[0],
            external_id=f"demo-{run_id}-{index}",
            text=text,
            language=sample.get("language"),
            citizen=citizen,
        )


def _start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "civicdesk.cli", "worker"]
    return [
        # Our own interpreter and module, no user input in the command line.
        subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL)  # noqa: S603
        for _ in range(count)
    ]


def _pending(run_prefix: str) -> int:
    with db.session_factory()() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Appeal)
                .where(Appeal.external_id.like(f"{run_prefix}%"), Appeal.status == Status.RECEIVED)
            )
            or 0
        )


def summarize(run_prefix: str) -> dict[str, dict[str, int]]:
    with db.session_factory()() as session:
        org_names = dict(session.execute(select(Organization.id, Organization.name_ru)).all())
        district_names = dict(session.execute(select(District.code, District.name_ru)).all())
        rows = session.execute(
            select(
                Appeal.status, Appeal.category_code, Appeal.organization_id, Appeal.district_code
            ).where(Appeal.external_id.like(f"{run_prefix}%"))
        ).all()
    by_status: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_organization: Counter[str] = Counter()
    by_district: Counter[str] = Counter()
    for status, category, organization_id, district in rows:
        by_status[status.value] += 1
        by_category[category or "(none)"] += 1
        if organization_id:
            by_organization[org_names.get(organization_id, str(organization_id))] += 1
        else:
            by_organization["(rejected)" if status is Status.REJECTED else "(triage)"] += 1
        by_district[district_names.get(district, "(unknown)") if district else "(unknown)"] += 1
    return {
        "by_status": dict(by_status.most_common()),
        "by_category": dict(by_category.most_common()),
        "by_organization": dict(by_organization.most_common()),
        "by_district": dict(by_district.most_common()),
    }


def stop_workers(
    processes: list[subprocess.Popen[bytes]], *, grace_s: float = 15
) -> dict[str, int]:
    """SIGTERM (RQ's warm shutdown: the current job finishes), then SIGKILL for a worker
    still busy after ``grace_s``. Killing is safe: a job's work commits whole or not at all,
    and the relay runs what a killed worker left. Returns how many finished and were killed."""
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace_s
    finished = killed = 0
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
            finished += 1
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            killed += 1
    if killed:
        log.warning("demo: %d worker(s) still busy after %.0f s were killed", killed, grace_s)
    return {"finished": finished, "killed": killed}


def run_demo(
    settings: Settings, *, appeals: int, workers: int = 2, seed: int = 0, timeout_s: float = 3600
) -> dict[str, Any]:
    db.configure(settings)
    run_id = uuid4().hex[:8]
    run_prefix = f"demo-{run_id}-"
    processes = [] if settings.jobs_inline else _start_workers(workers)
    try:
        started = time.perf_counter()
        for contact in sample_contacts(settings, appeals, seed=seed, run_id=run_id):
            with db.transaction() as session:
                submit(session, contact)
        deadline = time.monotonic() + timeout_s
        while _pending(run_prefix) and time.monotonic() < deadline:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        stopped = stop_workers(processes)
    report: dict[str, Any] = dict(summarize(run_prefix))
    if processes:
        report["workers_stopped"] = stopped
    report["appeals"] = appeals
    report["elapsed_s"] = round(elapsed, 3)
    report["appeals_per_s"] = round(appeals / elapsed, 1) if elapsed else None
    report["backend"] = "postgresql" if not settings.is_sqlite else "sqlite"
    report["jobs"] = "inline" if settings.jobs_inline else f"rq ({workers} workers)"
    return report
