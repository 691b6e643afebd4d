"""The operator console's half of a screen-pop, and its round trips, over real HTTP.

    python bench/console.py [--pops 40] [--suggests 20] [--pages 20] [--runs 3]

Needs nothing but Python: builds an embedded database from the migrations and data/,
serves the app with uvicorn on a loopback port in a thread, signs an operator in over
HTTP and opens the console's event stream (``/staff/console/events``) as the browser's
EventSource does. Each pop is published on the in-process screen-pop bus (what the AMI
listener does after committing an AgentConnect; ``bench/ami.py`` times that half) and
timed until the SSE client has read it, then until the incoming-call panel (the caller's
card from their open and recent appeals) has been fetched, as ``console.js`` does. Also
times the form's "suggest" round trip (the NLP dry run and the repeat check) and the
whole console page. Prints JSON, medians over the runs of each run's p50/p95:

- ``pop_to_panel_p95_ms``: bus publish → SSE event read → panel HTML fetched (what the
  operator waits for once the listener has published);
- ``pop_to_event_p95_ms``, ``panel_p95_ms``, ``suggest_p95_ms``, ``page_p95_ms`` (and p50s).
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import queue
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from core import db
from core.clock import now
from core.migrate import upgrade
from core.settings import Settings, override_settings

PASSWORD = "bench-console-password"  # noqa: S105 - an account in a temporary database
CALLER = "+77017776655"
SAID = (
    "Опять не вывозят мусор во дворе дома 12 по улице Жандосова в Бостандыкском районе, "
    "контейнеры переполнены"
)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _prepare(settings: Settings) -> tuple[int, int, str]:
    """An operator, a caller with three appeals, and a call connected to the operator."""
    from appeals.models import Channel
    from channels.telephony.models import Call, CallState
    from civicdesk.bootstrap import load_all_reference
    from core.models import Role
    from core.security import create_staff_user
    from intake import pipeline
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    with db.transaction() as session:
        load_all_reference(session, settings)
    with db.transaction() as session:
        operator = create_staff_user(
            session,
            username="bench-operator",
            full_name="Bench Operator",
            role=Role.OPERATOR,
            password=PASSWORD,
        )
        for text in (
            "Во дворе дома 12 по улице Жандосова в Бостандыкском районе не вывозят мусор",
            "Не горит уличное освещение на улице Толе би возле школы, темно вечером",
            "На проспекте Абая напротив дома 150 глубокая яма на дороге, машины бьют колёса",
        ):
            result = submit(
                session,
                IncomingContact(
                    channel=Channel.TELEGRAM,
                    text=text,
                    citizen=CitizenContact(phone=CALLER, full_name="Гульнара Ахметова"),
                ),
            )
            pipeline.process(session, result.appeal_id)
        call = Call(
            uniqueid="1732280000.1",
            caller_e164=CALLER,
            queue="1308",
            operator_id=operator.id,
            state=CallState.CONNECTED,
            started_at=now(),
            answered_at=now(),
        )
        session.add(call)
        session.flush()
        return operator.id, call.id, call.uniqueid


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    if match is None:
        raise RuntimeError(f"no {name} on the page")
    return html.unescape(match.group(1))


def _serve(settings: Settings) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from civicdesk.app import create_app

    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    return server, thread, f"http://{host}:{port}"


def _listen(client: httpx.Client, arrivals: queue.Queue[float], stop: threading.Event) -> None:
    """The browser's EventSource: read the stream, note when each pop arrives."""
    with client.stream("GET", "/staff/console/events", timeout=None) as response:
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line == "event: ready":
                arrivals.put(-1.0)
            elif line == "event: pop":
                arrivals.put(time.perf_counter())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pops", type=int, default=40)
    parser.add_argument("--suggests", type=int, default=20)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from channels.telephony.screen_pop import ScreenPop, screen_pop_bus

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise

    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        settings = Settings(environment="test", database_url=url, console_heartbeat_s=5)
        with override_settings(settings):
            upgrade(url)
            db.configure(settings)
            operator_id, call_id, uniqueid = _prepare(settings)
            server, thread, base = _serve(settings)
            bus = screen_pop_bus(settings)
            try:
                with httpx.Client(base_url=base) as client:
                    page = client.get("/staff/login")
                    client.post(
                        "/staff/login",
                        data={
                            "username": "bench-operator",
                            "password": PASSWORD,
                            "login_csrf": _hidden(page.text, "login_csrf"),
                            "next": "/staff/console",
                        },
                    )
                    csrf = _hidden(client.get("/staff/console").text, "csrf")
                    arrivals: queue.Queue[float] = queue.Queue()
                    stop = threading.Event()
                    listener = threading.Thread(
                        target=_listen, args=(client, arrivals, stop), daemon=True
                    )
                    listener.start()
                    if arrivals.get(timeout=10) != -1.0:
                        raise RuntimeError("the stream did not say ready")
                    for _run in range(args.runs):
                        event_ms, panel_ms, total_ms, suggest_ms, page_ms = [], [], [], [], []
                        for _ in range(args.pops):
                            started = time.perf_counter()
                            bus.publish(
                                ScreenPop(
                                    call_id=call_id,
                                    uniqueid=uniqueid,
                                    caller_e164=CALLER,
                                    queue="1308",
                                    operator_id=operator_id,
                                    connected_at=now(),
                                )
                            )
                            arrived = arrivals.get(timeout=10)
                            panel = client.get("/staff/console/panel", params={"call": call_id})
                            done = time.perf_counter()
                            if panel.status_code != 200 or CALLER not in panel.text:
                                raise RuntimeError(f"panel answered {panel.status_code}")
                            event_ms.append((arrived - started) * 1000)
                            panel_ms.append((done - arrived) * 1000)
                            total_ms.append((done - started) * 1000)
                        for _ in range(args.suggests):
                            started = time.perf_counter()
                            answer = client.post(
                                "/staff/console/suggest",
                                data={"csrf": csrf, "text": SAID, "phone": CALLER},
                            )
                            suggest_ms.append((time.perf_counter() - started) * 1000)
                            if answer.status_code != 200:
                                raise RuntimeError(f"suggest answered {answer.status_code}")
                        for _ in range(args.pages):
                            started = time.perf_counter()
                            client.get("/staff/console", params={"call": call_id})
                            page_ms.append((time.perf_counter() - started) * 1000)
                        for name, samples in (
                            ("pop_to_event", event_ms),
                            ("panel", panel_ms),
                            ("pop_to_panel", total_ms),
                            ("suggest", suggest_ms),
                            ("page", page_ms),
                        ):
                            results.setdefault(f"{name}_p50_ms", []).append(
                                statistics.median(samples)
                            )
                            results.setdefault(f"{name}_p95_ms", []).append(
                                _percentile(samples, 0.95)
                            )
                    stop.set()
            finally:
                server.should_exit = True
                thread.join(10)
                db.get_engine().dispose()
    report: dict[str, Any] = {
        key: round(statistics.median(values), 1) for key, values in sorted(results.items())
    }
    report.update(
        database="sqlite (embedded)",
        bus="memory",
        pops=args.pops,
        suggests=args.suggests,
        pages=args.pages,
        runs=args.runs,
    )
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
