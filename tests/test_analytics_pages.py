"""The analytics page for analysts: charts with their tables and CSVs in Russian and Kazakh,
the hot spots the worker stored (map and table), the bursts, the weekly reports listed and
served; other roles refused; bad input answered with a reason. Also the hot spot statistic
itself: a planted cluster is found, an even city has none."""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import h3
import pytest
from sqlalchemy.orm import Session

from analytics.hotspots import gi_star
from analytics.jobs import Due, claim, finish, hotspots_now
from analytics.report_service import store_reports
from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from civicdesk.web.analytics.pages import clear_cache
from core import db
from core.clock import local, now
from core.models import Role
from tests.analytics_support import appeal_factory, assert_no_personal_data
from tests.conftest import hidden_field, staff_sign_in

# A district's centre (its label on the map) and a topic and an organization for it.
DISTRICTS = {
    "auezov": ((43.225, 76.855), "water.no_water", "almaty-su"),
    "bostandyk": ((43.215, 76.905), "improvement.snow_removal", "akimat-bostandyk"),
    "medeu": ((43.245, 76.955), "roads.local_repair", "akimat-medeu"),
    "almaly": ((43.255, 76.925), "transport.bus_service", "traffic-passenger-transport"),
}
CHANNELS = (Channel.PHONE, Channel.TELEGRAM, Channel.PORTAL, Channel.WHATSAPP)
CLUSTER = (43.2301, 76.8702)  # the yard where the water is off


def city(
    make: Callable[..., Appeal], *, days: int = 21, seed: int = 7, cluster_open: bool = True
) -> list[Appeal]:
    """Three weeks of a small city up to yesterday: each district's topic, most answered in
    time, some late, some rated, half with a map point; in the last three days a cluster
    of no-water appeals in one yard of Auezov (still open, or already answered)."""
    rng = random.Random(seed)
    today = local(now()).replace(hour=0, minute=0, second=0, microsecond=0)
    made = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        for district, ((lat, lng), topic, organization) in DISTRICTS.items():
            for _ in range(rng.randint(2, 5)):
                moment = day + timedelta(hours=rng.randint(8, 20), minutes=rng.randint(0, 59))
                late = rng.random() < 0.2
                point = rng.random() < 0.6
                made.append(
                    make(
                        received_at=moment,
                        category=topic,
                        district=district,
                        organization=organization,
                        channel=rng.choice(CHANNELS),
                        status=Status.CLOSED,
                        due_at=moment + timedelta(days=15),
                        answered_at=moment + timedelta(days=17 if late else 3),
                        closed_at=moment + timedelta(days=18 if late else 4),
                        rating=rng.randint(3, 5) if rng.random() < 0.4 else None,
                        latitude=lat + rng.uniform(-0.03, 0.03) if point else None,
                        longitude=lng + rng.uniform(-0.04, 0.04) if point else None,
                    )
                )
        if back <= 3:
            for _ in range(12):
                made.append(
                    make(
                        received_at=day + timedelta(hours=rng.randint(8, 20)),
                        category="water.no_water",
                        district="auezov",
                        organization="almaty-su",
                        status=Status.IN_PROGRESS if cluster_open else Status.CLOSED,
                        due_at=day + timedelta(days=15),
                        answered_at=None if cluster_open else day + timedelta(days=1),
                        closed_at=None if cluster_open else day + timedelta(days=1),
                        latitude=CLUSTER[0] + rng.uniform(-0.0015, 0.0015),
                        longitude=CLUSTER[1] + rng.uniform(-0.002, 0.002),
                    )
                )
    return made


def store_hotspots() -> dict[str, Any]:
    """What the worker's daily job keeps: claimed and finished in transactions of their own
    (over the committed rows the process-wide database sees)."""
    moment = now()
    with db.transaction() as session:
        run_id = claim(session, Due("hotspots", moment.date().isoformat()), moment=moment)
    assert run_id is not None
    result = hotspots_now(moment)
    finish(run_id, result)
    return result


@pytest.fixture
def make_appeal(session: Session) -> Callable[..., Appeal]:
    return appeal_factory(session)


@pytest.fixture
def month(session: Session, make_appeal: Callable[..., Appeal]) -> list[Appeal]:
    made = city(make_appeal)
    session.commit()
    clear_cache()
    return made


def test_the_page_shows_every_chart_with_its_table_and_csv_in_both_languages(
    client: Any, make_user: Any, month: list[Appeal]
) -> None:
    user, password = make_user(Role.ANALYST)
    staff_sign_in(client, user, password, next_path="/staff/analytics")
    for language, heading in (("ru", "Аналитика обращений"), ("kk", "Өтініштер талдауы")):
        page = client.get(f"/staff/analytics?lang={language}")
        assert page.status_code == 200, page.text
        assert heading in page.text
        for table in ("day", "week", "channels", "districts", "organizations", "categories"):
            assert f'id="{table}-table"' in page.text, table
            assert f"section={table}" in page.text, table
        assert page.text.count("data:image/svg+xml") >= 7
        assert_no_personal_data(page.text, [a.tracking_number for a in month])
    by_district = client.get("/staff/analytics.csv?section=districts&lang=ru")
    assert by_district.status_code == 200
    assert by_district.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(by_district.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["key", "name", "appeals"]
    counted = {row[0]: row for row in rows[1:]}
    assert counted["auezov"][1] == "Ауэзовский район"
    assert int(counted["auezov"][2]) > int(counted["medeu"][2])  # the yard without water
    week = client.get("/staff/analytics.csv?section=day&lang=kk")
    assert week.status_code == 200 and len(week.text.splitlines()) >= 8


def test_other_roles_and_bad_input_are_refused_with_a_reason(
    client: Any, make_user: Any, month: list[Appeal]
) -> None:
    executor, password = make_user(Role.EXECUTOR, "almaty-su")
    staff_sign_in(client, executor, password, next_path="/staff/analytics")
    assert client.get("/staff/analytics").status_code == 403
    assert client.get("/staff/analytics.csv?section=districts").status_code == 403
    analyst, password = make_user(Role.ANALYST)
    staff_sign_in(client, analyst, password, next_path="/staff/analytics")
    assert client.get("/staff/analytics?from=2026-13-01").status_code == 422
    assert client.get("/staff/analytics?from=2026-01-10&to=2026-01-01").status_code == 422
    unknown = client.get("/staff/analytics.csv?section=passwords")
    assert unknown.status_code == 422 and "unknown section" in unknown.text
    assert client.get("/staff/analytics/reports/999999").status_code == 404
    assert client.get("/staff/analytics/bursts/999999").status_code == 404


def test_the_hot_spots_the_worker_stored_are_mapped_and_listed(
    client: Any, session: Session, make_user: Any, month: list[Appeal]
) -> None:
    stored = store_hotspots()
    assert stored["kind"] == "h3" and stored["located"] > 200
    cluster_cell = h3.latlng_to_cell(*CLUSTER, 8)
    water = next(layer for layer in stored["layers"] if layer["topic"] == "water.no_water")
    assert cluster_cell in {cell["cell"] for cell in water["cells"]}
    user, password = make_user(Role.ANALYST)
    staff_sign_in(client, user, password, next_path="/staff/analytics")
    page = client.get("/staff/analytics?lang=ru")
    assert 'id="hotspots-table"' in page.text and "an-map" in page.text
    listed = client.get("/staff/analytics.csv?section=hotspots&lang=ru")
    assert listed.status_code == 200 and cluster_cell in listed.text


def test_weekly_reports_are_listed_served_and_made_on_demand(
    client: Any, session: Session, make_user: Any, month: list[Appeal]
) -> None:
    year, number, _ = (local(now()).date() - timedelta(days=7)).isocalendar()
    week = f"{year}-W{number:02d}"
    store_reports(session, week=week, generated_by="worker")
    session.commit()
    user, password = make_user(Role.ANALYST)
    staff_sign_in(client, user, password, next_path="/staff/analytics")
    page = client.get("/staff/analytics?lang=kk")
    assert 'id="reports-table"' in page.text and week in page.text
    links = sorted(set(re.findall(r"/staff/analytics/reports/(\d+)", page.text)))
    assert len(links) == 4  # ru and kk, PDF and HTML
    kinds = {
        client.get(f"/staff/analytics/reports/{link}").headers["content-type"] for link in links
    }
    assert kinds == {"application/pdf", "text/html; charset=utf-8"}
    for link in links:
        served = client.get(f"/staff/analytics/reports/{link}")
        if served.headers["content-type"].startswith("text/html"):
            policy = served.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "script-src" not in policy
    refused = client.post(
        "/staff/analytics/reports",
        data={"week": "2026-W60", "csrf": hidden_field(page.text, "csrf")},
    )
    assert refused.status_code == 422


def test_gi_star_finds_a_planted_cluster_and_nothing_in_an_even_city() -> None:
    rng = random.Random(3)
    centre = h3.latlng_to_cell(43.24, 76.91, 8)
    area = sorted(h3.grid_disk(centre, 8))
    even = {cell: rng.randint(2, 4) for cell in area}
    assert gi_star(even, area, alpha=0.05, min_count=3) == []
    planted = dict(even)
    hot = set(h3.grid_disk(h3.grid_ring(centre, 4)[0], 1))
    for cell in hot:
        planted[cell] += 12
    found = {cell.cell for cell in gi_star(planted, area, alpha=0.05, min_count=3)}
    assert hot <= found
    assert len(found - hot) <= 12  # the cluster's ring shares its neighbours' weight
