"""Several workers on one PostgreSQL and one Redis (issue 20).

Each test runs on a schema of its own whose data is committed (several connections at once
see it, as several machines would), built by the migrations with the reference data.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel, Incident
from core import db
from core.migrate import upgrade
from core.settings import Settings, override_settings
from intake.pipeline import process_batch
from intake.schemas import CitizenContact, IncomingContact
from tests.conftest import PG_ADMIN_URL, REDIS_URL, _unavailable, schema_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# One lamp post, reported by many people in different words: near-duplicates of each other.
NEAR_DUPLICATES = (
    "На улице Жандосова, 84 не горит уличное освещение, вечером совсем темно",
    "Ул. Жандосова, 84: третий день не работают фонари, темно и опасно",
    "Опять не горят фонари на ул. Жандосова, 84 — уже писал, темно, ничего не сделали",
)


@pytest.fixture(scope="module")
def shared_schema(pg_engine: Engine) -> Iterator[tuple[Settings, Engine]]:
    """A migrated schema with reference data whose commits every connection sees."""
    from redis import Redis

    redis_url = REDIS_URL
    try:
        Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as error:
        _unavailable("Redis", error)
    name = f"civicdesk_scale_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(PG_ADMIN_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    url = schema_url(name)
    # Redis set, with a queue no worker reads: submit enqueues and the test runs batches itself.
    settings = Settings(
        environment="test", database_url=url, redis_url=redis_url, queue_name=f"cd-scale-{name}"
    )
    previous = db._engine, db._session_factory
    engine = db.make_engine(url, pool_size=8)
    try:
        with override_settings(settings):
            upgrade(url)
            db.configure(settings, engine=engine)
            from civicdesk.bootstrap import load_all_reference

            with db.transaction() as session:
                load_all_reference(session, settings)
            yield settings, engine
    finally:
        db._engine, db._session_factory = previous
        engine.dispose()
        connection = Redis.from_url(redis_url)
        for key in connection.scan_iter(f"*{settings.queue_name}*"):
            connection.delete(key)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def submit_many(settings: Settings, texts: list[str], tag: str) -> list[int]:
    from intake.service import submit

    ids = []
    with override_settings(settings), db.transaction() as session:
        for n, body in enumerate(texts):
            result = submit(
                session,
                IncomingContact(
                    channel=Channel.PORTAL,
                    external_id=f"{tag}-{n}",
                    text=body,
                    citizen=CitizenContact(phone=f"+7702{abs(hash(tag)) % 1000:03d}{n:04d}"),
                ),
            )
            ids.append(result.appeal_id)
    return ids


def drain_in_threads(settings: Settings, workers: int, batch: int) -> tuple[list[int], list[str]]:
    """Run ``workers`` threads that each claim and process batches until none is left."""
    counts = [0] * workers
    errors: list[str] = []
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        with override_settings(settings):
            start.wait()
            while True:
                try:
                    with db.transaction() as session:
                        done = len(process_batch(session, limit=batch))
                except Exception as error:  # a deadlock would land here
                    errors.append(f"{type(error).__name__}: {error}"[:300])
                    continue
                if not done:
                    return
                counts[index] += done

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return counts, errors


def incident_pattern(engine: Engine, ids: list[int]) -> list[int | None]:
    """Which appeals share an incident, as the position of the incident's first appeal."""
    with engine.connect() as probe:
        rows = dict(
            probe.execute(select(Appeal.id, Appeal.incident_id).where(Appeal.id.in_(ids))).all()
        )
        statuses = probe.scalars(select(Appeal.status).where(Appeal.id.in_(ids))).all()
        assert len(statuses) == len(ids) and Status.RECEIVED not in statuses
        for incident in {i for i in rows.values() if i is not None}:
            counted = probe.scalar(select(Incident.appeals_count).where(Incident.id == incident))
            members = probe.scalar(
                select(func.count()).select_from(Appeal).where(Appeal.incident_id == incident)
            )
            assert counted == members  # no lost update of the count
    first: dict[int, int] = {}
    for position, appeal_id in enumerate(ids):
        incident = rows[appeal_id]
        if incident is not None:
            first.setdefault(incident, position)
    return [first.get(rows[i]) if rows[i] is not None else None for i in ids]


def test_two_workers_share_a_burst_of_near_duplicates_without_deadlock(
    shared_schema: tuple[Settings, Engine],
) -> None:
    """Two batches at once link near-duplicates of one place: no deadlock, both do work, and
    the incidents come out exactly as one worker makes them (before, two batches updated the
    incident rows in different orders: DeadlockDetected, the batch rolled back into RQ's
    retries; and a pair split across two concurrent batches was not linked)."""
    settings, engine = shared_schema
    burst = [NEAR_DUPLICATES[n % 3] for n in range(48)]
    alone = submit_many(settings, burst, f"alone-{uuid.uuid4().hex[:6]}")
    counts, errors = drain_in_threads(settings, workers=1, batch=4)
    assert errors == [] and counts == [len(alone)]
    # The same burst at another street (the first one's incidents are no candidates there).
    other_street = [text.replace("Жандосова", "Сатпаева") for text in burst]
    shared = submit_many(settings, other_street, f"shared-{uuid.uuid4().hex[:6]}")
    counts, errors = drain_in_threads(settings, workers=2, batch=4)
    assert errors == []
    assert sum(counts) == len(shared) and min(counts) > 0, counts
    expected = incident_pattern(engine, alone)
    assert sum(1 for p in expected if p is not None) > len(burst) // 2  # near-duplicates found
    assert incident_pattern(engine, shared) == expected


def test_a_later_batch_waits_for_an_earlier_one_before_linking(
    shared_schema: tuple[Settings, Engine],
) -> None:
    """The later batch's near-duplicate joins the incident of the earlier batch's appeal,
    although the earlier batch was still open when the later one started."""
    settings, engine = shared_schema
    tag = f"order-{uuid.uuid4().hex[:6]}"
    texts = [text.replace("Жандосова", "Розыбакиева") for text in NEAR_DUPLICATES]
    first = submit_many(settings, texts[:2], f"{tag}-a")
    second = submit_many(settings, texts[2:], f"{tag}-b")
    factory: Any = db.session_factory()
    with override_settings(settings):
        early = factory()
        try:
            assert sorted(process_batch(early, appeal_ids=first)) == first  # not committed yet
            outcome: list[Any] = []

            def later() -> None:
                with override_settings(settings), db.transaction() as session:
                    outcome.append(process_batch(session, appeal_ids=second))

            thread = threading.Thread(target=later)
            thread.start()
            thread.join(timeout=3)
            assert thread.is_alive()  # waiting for the earlier batch, not linking blind
            early.commit()
            thread.join(timeout=60)
            assert outcome == [second]
        finally:
            early.close()
    with engine.connect() as probe:
        incidents = dict(
            probe.execute(
                select(Appeal.id, Appeal.incident_id).where(Appeal.id.in_(first + second))
            ).all()
        )
    assert incidents[second[0]] is not None
    assert incidents[second[0]] in {incidents[i] for i in first}


def test_two_deployments_on_one_redis_do_not_see_each_others_screen_pops() -> None:
    """Two cities share a Redis database: a pop for operator 7 of one never reaches
    operator 7 of the other (before, both used the channel civicdesk:screenpop:7)."""
    import asyncio

    from redis import Redis

    from channels.telephony.screen_pop import ScreenPop, channel_name, screen_pop_bus
    from core.clock import now

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        _unavailable("Redis", error)
    tag = uuid.uuid4().hex[:6]
    almaty, astana = (
        Settings(environment="test", redis_url=REDIS_URL, queue_name=f"{city}-{tag}")
        for city in ("almaty", "astana")
    )
    operator = 7

    def pop(call_id: int) -> ScreenPop:
        return ScreenPop(call_id, f"1.{call_id}", None, "1308", operator, now())

    async def scenario() -> list[int]:
        listening = screen_pop_bus(astana).subscribe(operator).__aiter__()
        waiting = asyncio.ensure_future(listening.__anext__())
        client = Redis.from_url(REDIS_URL)
        channel = channel_name(operator, astana.queue_name)
        for _ in range(100):
            if client.pubsub_numsub(channel)[0][1] >= 1:
                break
            await asyncio.sleep(0.05)
        screen_pop_bus(almaty).publish(pop(1))  # the other city's operator 7
        screen_pop_bus(astana).publish(pop(2))
        received = [(await asyncio.wait_for(waiting, 5)).call_id]
        await listening.aclose()  # type: ignore[attr-defined]
        return received

    assert asyncio.run(scenario()) == [2]
    assert screen_pop_bus(almaty) is not screen_pop_bus(astana)


def test_a_notification_retry_is_scheduled_no_earlier_than_it_is_due() -> None:
    """RQ's scheduler keeps whole seconds; a retry due in 2.4 s must not be put at 2 s
    (it ran early, found nothing due, and the row waited for the 30 s sweep)."""
    import time

    from redis import Redis

    from channels.jobs import _schedule_retry
    from core import jobs

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:
        _unavailable("Redis", error)
    settings = Settings(
        environment="test", redis_url=REDIS_URL, queue_name=f"cd-retry-{uuid.uuid4().hex[:6]}"
    )
    queue = jobs.queue(settings)
    try:
        with override_settings(settings):
            registry = queue.scheduled_job_registry
            seen: set[str] = set()
            for delay in (0.1, 2.4, 5.0):
                asked_at = time.time()
                _schedule_retry(42, delay)
                (job_id,) = set(registry.get_job_ids()) - seen
                seen.add(job_id)
                at = float(registry.connection.zscore(registry.key, job_id))
                assert asked_at + delay <= at <= asked_at + delay + 2
    finally:
        queue.scheduled_job_registry.remove_jobs()
        queue.delete(delete_jobs=True)


def _rule_scope(engine: Engine) -> tuple[str, int, int]:
    """A category whose city-wide rule names an organization, and another organization."""
    from routing.models import Organization, RoutingRule

    with engine.connect() as probe:
        category, organization = probe.execute(
            select(RoutingRule.category_code, RoutingRule.organization_id)
            .where(
                RoutingRule.superseded_at.is_(None),
                RoutingRule.district_code.is_(None),
                RoutingRule.service_area_code.is_(None),
                RoutingRule.organization_id.is_not(None),
            )
            .order_by(RoutingRule.id)
            .limit(1)
        ).one()
        other = probe.scalar(
            select(Organization.id)
            .where(Organization.id != organization, Organization.retired_on.is_(None))
            .order_by(Organization.id)
            .limit(1)
        )
    assert other is not None
    return str(category), int(organization), int(other)


def _submit_routed(settings: Settings, category: str, tag: str) -> Appeal:
    (appeal_id,) = submit_many(settings, [f"Прошу принять меры, обращение {tag}"], tag)
    # the citizen chose the category (the portal's form): routing needs no classifier
    with override_settings(settings), db.transaction() as session:
        session.execute(
            Appeal.__table__.update()
            .where(Appeal.__table__.c.id == appeal_id)
            .values(category_code=category, category_confidence=1.0)
        )
    with override_settings(settings), db.transaction() as session:
        process_batch(session, appeal_ids=[appeal_id])
        appeal = session.get(Appeal, appeal_id)
        assert appeal is not None
        return appeal


def test_a_rule_changed_by_another_process_is_used_by_the_next_decision(
    shared_schema: tuple[Settings, Engine],
) -> None:
    """An admin changes a rule in another process (its own cache reset does not reach this
    one): the very next appeal routed here goes by the new rule and records it."""
    import subprocess
    import sys

    settings, engine = shared_schema
    category, before, after = _rule_scope(engine)
    first = _submit_routed(settings, category, f"rule-{uuid.uuid4().hex[:6]}")
    assert first.organization_id == before  # the table is cached in this process now
    old_rule = first.routing_rule_id
    change = (
        "from core import db\n"
        "from routing.rules import RuleScope, put_rule\n"
        "with db.transaction() as session:\n"
        f"    rule = put_rule(session, RuleScope({category!r}), organization_id={after})\n"
        "    session.flush()\n"
        "    print(rule.id)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")},
        "CIVICDESK_ENVIRONMENT": "test",
        "CIVICDESK_DATABASE_URL": settings.database_url,
    }
    done = subprocess.run(  # noqa: S603 - this interpreter running our own snippet
        [sys.executable, "-c", change], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    new_rule = int(done.stdout.strip().splitlines()[-1])
    second = _submit_routed(settings, category, f"rule-{uuid.uuid4().hex[:6]}")
    assert (second.organization_id, second.routing_rule_id) == (after, new_rule)
    assert new_rule != old_rule
    from routing.service import decide

    with override_settings(settings), db.transaction() as session:  # the dry run agrees
        assert decide(
            session, category_code=category, district_code=None, on=now_date()
        ).rule_id == (new_rule)


def now_date() -> Any:
    from core.clock import local, now

    return local(now()).date()


def test_a_rule_change_waits_for_the_batch_deciding_under_the_old_rule(
    shared_schema: tuple[Settings, Engine],
) -> None:
    """A batch holds the rules it decides by until it commits: a change made meanwhile
    waits, so no appeal records a rule superseded before its decision."""
    from routing.rules import RuleScope, put_rule

    settings, engine = shared_schema
    category, _, _ = _rule_scope(engine)
    with engine.connect() as probe:
        from routing.models import Organization

        target = probe.scalar(
            select(Organization.id)
            .where(Organization.retired_on.is_(None))
            .order_by(Organization.id.desc())
            .limit(1)
        )
    factory: Any = db.session_factory()
    with override_settings(settings):
        batch = factory()
        try:
            process_batch(batch, limit=1)  # holds the routing stamp (nothing need be pending)
            changed: list[int] = []

            def admin() -> None:
                with override_settings(settings), db.transaction() as session:
                    changed.append(
                        put_rule(session, RuleScope(category), organization_id=target).id
                    )

            thread = threading.Thread(target=admin)
            thread.start()
            thread.join(timeout=2)
            assert thread.is_alive() and not changed  # the change waits for the batch
            batch.commit()
            thread.join(timeout=60)
            assert len(changed) == 1
        finally:
            batch.close()


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A local server speaking the S3 protocol (moto's server mode) on 127.0.0.1."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    # Credentials of the local test server only (boto3 reads them from the environment).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "civicdesk-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "civicdesk-test")
    bucket = f"civicdesk-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


def test_an_attachment_uploaded_through_one_server_is_read_through_another(
    client: Any,
    session: Any,
    settings: Settings,
    make_user: Any,
    s3_server: str,
    s3_bucket: str,
    tmp_path: Any,
) -> None:
    """Two API servers with their own disks and one object store: the file a citizen adds
    through one is served by the other (before: listed there, and fetching it was a 500)."""
    from channels import attachments
    from core.models import Role
    from tests.conftest import login

    def server(name: str) -> Settings:
        return settings.model_copy(
            update={
                "attachments_dir": tmp_path / name,  # each machine's own disk
                "s3_bucket": s3_bucket,
                "s3_endpoint_url": s3_server,
                "s3_region": "us-east-1",
            }
        )

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with override_settings(server("one")):
        filed = client.post(
            "/api/v1/portal/appeals",
            json={
                "channel": "mobile",
                "text": "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге",
                "citizen": {"full_name": "Асель", "phone": "+7 701 765 43 21"},
            },
        ).json()
        uploaded = client.post(
            f"/api/v1/portal/appeals/{filed['tracking_number']}/attachments",
            files={"file": ("photo.png", png, "image/png")},
            headers={"X-Citizen-Token": filed["citizen_token"]},
        )
        assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    appeal = session.scalar(
        select(Appeal).where(Appeal.tracking_number == filed["tracking_number"])
    )
    assert appeal is not None
    inspector, _ = make_user(Role.INSPECTOR)
    with override_settings(server("two")):
        url = f"/api/v1/appeals/{appeal.id}/attachments/{attachment['id']}/content"
        response = client.get(url, headers=login(client, inspector.username))
        assert response.status_code == 200, response.text
        assert response.content == png and response.headers["content-type"] == "image/png"
        assert attachments.read_content(attachment["sha256"]) == png
    # Neither machine's disk holds it: it is in the bucket, under the deployment's prefix.
    assert not (tmp_path / "one").exists() and not (tmp_path / "two").exists()
    import boto3

    keys = [
        item["Key"]
        for item in boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
        .list_objects_v2(Bucket=s3_bucket)
        .get("Contents", [])
    ]
    digest = attachment["sha256"]
    assert keys == [f"{settings.queue_name}/attachments/{digest[:2]}/{digest[2:4]}/{digest}"]


def _fake_model(directory: Any, version: str) -> None:
    """A model directory as save_model leaves it (the sync copies files, it never loads)."""
    from nlp.engine import METADATA_FILE, ModelMetadata

    directory.mkdir(parents=True, exist_ok=True)
    metadata = ModelMetadata("tfidf-linear", version, "2026-12-07T11:00:00+00:00", {}, {}, ("a",))
    (directory / METADATA_FILE).write_text(metadata.to_json(), encoding="utf-8")
    (directory / "weights.npz").write_bytes(version.encode() * 1000)


def test_machines_serve_the_topic_model_published_to_object_storage(
    shared_schema: tuple[Settings, Engine], s3_server: str, s3_bucket: str, tmp_path: Any
) -> None:
    """A model trained on one machine is fetched by another at its next batch, and a newer
    one replaces it there: every process serves the version the store names."""
    from intake.model_sync import ensure_current, publish
    from nlp.engine import read_metadata

    settings, _ = shared_schema
    store = {"s3_bucket": s3_bucket, "s3_endpoint_url": s3_server, "s3_region": "us-east-1"}
    trainer = settings.model_copy(update={**store, "nlp_model_dir": str(tmp_path / "a")})
    worker = settings.model_copy(update={**store, "nlp_model_dir": str(tmp_path / "b")})
    with override_settings(worker), db.transaction() as session:
        assert ensure_current(session, worker) is None  # nothing published: the local model
    for version in ("v-1", "v-2"):
        _fake_model(tmp_path / "a", version)
        with override_settings(trainer), db.transaction() as session:
            assert publish(session, tmp_path / "a", version, trainer)
        with override_settings(worker), db.transaction() as session:
            assert ensure_current(session, worker) == version
        assert read_metadata(tmp_path / "b").version == version
        assert (tmp_path / "b" / "weights.npz").read_bytes() == version.encode() * 1000
