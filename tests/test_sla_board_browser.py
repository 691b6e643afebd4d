"""The SLA board in headless Chromium: an inspector signs in, reads the board, filters it,
drills down to the overdue appeals and opens one with its history.

With ``CIVICDESK_BOARD_SCREENSHOT=docs/img/sla-board.png`` the board with its demo data is
also saved there (the committed screenshot in the docs comes from this test).
"""

from __future__ import annotations

import os
import random
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from appeals.lifecycle import Status
from appeals.models import Appeal, Channel
from core.clock import local, now
from core.db import table_of
from core.models import Role
from routing.models import Organization
from sla import board

if TYPE_CHECKING:
    from tests.browser_support import LiveServer


SCREENSHOT_ENV = "CIVICDESK_BOARD_SCREENSHOT"
# Organizations of the demo board, with how many appeals of each bucket they hold.
DEMO = {
    "akimat-auezov": (9, 2, 6, 41, 2),
    "akimat-alatau": (7, 1, 5, 38, 1),
    "almaty-su": (6, 3, 4, 22, 0),
    "akimat-bostandyk": (5, 0, 7, 45, 3),
    "energy-water": (4, 1, 2, 12, 0),
    "akimat-nauryzbay": (3, 1, 3, 18, 1),
    "road-infrastructure": (3, 0, 4, 27, 0),
    "akimat-turksib": (2, 2, 2, 30, 2),
    "almaty-heat-networks": (2, 0, 1, 9, 0),
    "akimat-almaly": (1, 1, 3, 26, 1),
    "akimat-zhetysu": (1, 0, 2, 19, 0),
    "education": (1, 0, 1, 14, 0),
    "almatyelectrotrans": (0, 1, 2, 11, 0),
    "zhasyl-almaty": (0, 0, 1, 8, 0),
    "public-health": (0, 0, 0, 6, 1),
}
DISTRICTS = ("alatau", "almaly", "auezov", "bostandyk", "zhetysu", "medeu", "nauryzbay", "turksib")
CATEGORIES = ("water.water_quality", "roads.local_repair", "heating.heat_leak")
CHANNELS = (Channel.PHONE, Channel.PHONE, Channel.SOCIAL, Channel.SOCIAL, Channel.PORTAL)
WATER_LEAK = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"


def _seed(server: LiveServer) -> dict[str, Any]:
    """Demo appeals relative to now, and one real appeal (through submit) made overdue."""
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    rng = random.Random(6)
    cut = board.current_boundaries()
    moments = {
        "overdue": lambda: cut.now - timedelta(hours=rng.randint(2, 200)),
        "due_today": lambda: cut.now + (cut.tomorrow - cut.now) * rng.uniform(0.2, 0.9),
        "at_risk": lambda: cut.tomorrow + (cut.risk_until - cut.tomorrow) * rng.uniform(0.1, 0.9),
        "on_time": lambda: cut.risk_until + timedelta(hours=rng.randint(1, 400)),
        "paused": lambda: cut.now + timedelta(hours=rng.randint(-100, 100)),
    }
    appeals = table_of(Appeal)
    with server.session() as session:
        ids = {
            row.code: row.id for row in session.execute(select(Organization.code, Organization.id))
        }
        rows = []
        for code, counts in DEMO.items():
            for bucket, count in zip(moments, counts, strict=True):
                for _ in range(count):
                    received = cut.now - timedelta(
                        days=rng.randint(3, 25), minutes=rng.randint(0, 600)
                    )
                    rows.append(
                        {
                            "tracking_number": f"AL-{uuid.uuid4().hex[:8].upper()}",
                            "channel": rng.choice(CHANNELS),
                            "external_id": uuid.uuid4().hex,
                            "text": "Демонстрационное обращение",
                            "appeal_type": "complaint",
                            "category_code": rng.choice(CATEGORIES),
                            "district_code": rng.choice(DISTRICTS),
                            "urgency": "normal",
                            "organization_id": ids[code],
                            "status": rng.choice((Status.IN_PROGRESS, Status.ASSIGNED)),
                            "received_at": received,
                            "due_at": moments[bucket](),
                            "paused_at": (
                                cut.now - timedelta(days=2) if bucket == "paused" else None
                            ),
                            "answered_at": None,
                            "anonymous": False,
                            "is_repeat": False,
                            "updated_at": received,
                        }
                    )
        for index in range(4):  # answers awaiting review
            received = cut.now - timedelta(days=10 + index)
            rows.append(
                rows[index]
                | {
                    "tracking_number": f"AL-{uuid.uuid4().hex[:8].upper()}",
                    "external_id": uuid.uuid4().hex,
                    "status": Status.ANSWERED,
                    "received_at": received,
                    "answered_at": cut.now - timedelta(days=index, hours=3),
                    "paused_at": None,
                    "due_at": cut.now + timedelta(days=index - 1),
                }
            )
        session.execute(insert(appeals), rows)
        result = submit(
            session,
            IncomingContact(
                text=WATER_LEAK,
                channel=Channel.PORTAL,
                citizen=CitizenContact(phone="+77011234567", full_name="Асель"),
            ),
        )
    with server.session() as session:  # the pipeline ran at commit: registered, routed
        real = session.get(Appeal, result.appeal_id)
        assert real is not None and real.organization_id is not None, "the pipeline did not route"
        session.execute(
            update(appeals)
            .where(appeals.c.id == real.id)
            .values(due_at=cut.now - timedelta(days=1))
        )
        code = session.scalar(
            select(Organization.code).where(Organization.id == real.organization_id)
        )
    overdue = sum(counts[0] for counts in DEMO.values())
    return {
        "tracking_number": result.tracking_number,
        "organization": code,
        "overdue_total": overdue + 1,
        "org_overdue": DEMO.get(str(code), (0,))[0] + 1,
    }


def test_inspector_filters_the_board_and_opens_an_overdue_appeal(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.browser_support import sign_in, wait_for

    seeded = _seed(live)
    inspector, password = live.make_user(Role.INSPECTOR, full_name="Айгуль Инспектор")
    sign_in(browser, live, inspector.username, password, "/staff/board")
    assert browser.current_url.startswith(f"{live.url}/staff/board")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Контроль сроков исполнения"
    assert browser.find_element(By.ID, "total-overdue").text == str(seeded["overdue_total"])
    assert browser.find_element(By.ID, "total-review").text == "4"
    assert browser.find_element(By.ID, "total-paused").text == "11"
    first_row = browser.find_element(By.CSS_SELECTOR, "#board-table tbody tr")
    assert "Ауэзов" in first_row.find_element(By.CSS_SELECTOR, "th").text  # most overdue first

    screenshot = tmp_path / "sla-board.png"
    assert browser.save_screenshot(str(screenshot))
    target = os.environ.get(SCREENSHOT_ENV)
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target)

    # Filter to the organization the real appeal was routed to and to the last month, as a
    # person does: the date typed the way it is written here (the field says so).
    date_field = browser.find_element(By.ID, "f-from")
    assert date_field.get_attribute("placeholder") == "дд.мм.гггг"
    since = f"{local(now() - timedelta(days=30)):%d.%m.%Y}"
    Select(browser.find_element(By.ID, "f-organization")).select_by_value(seeded["organization"])
    date_field.send_keys(since)
    browser.find_element(By.ID, "f-apply").click()
    wait_for(browser, lambda d: f"organization={seeded['organization']}" in d.current_url)
    assert f"received_from={since}" in browser.current_url
    assert browser.find_element(By.ID, "f-from").get_attribute("value") == since
    rows = browser.find_elements(By.CSS_SELECTOR, "#board-table tbody tr")
    assert len(rows) == 1
    assert browser.find_element(By.ID, "total-overdue").text == str(seeded["org_overdue"])

    # Drill down: the overdue count → the list → the appeal with its history.
    rows[0].find_element(By.CSS_SELECTOR, "td.c-overdue a").click()
    wait_for(browser, lambda d: "bucket=overdue" in d.current_url)
    listed = browser.find_element(By.ID, "list")
    assert "Просрочено" in listed.find_element(By.TAG_NAME, "h2").text
    numbers = [link.text for link in listed.find_elements(By.CSS_SELECTOR, "tbody td.mono a")]
    assert seeded["tracking_number"] in numbers
    assert len(numbers) == seeded["org_overdue"]
    listed.find_element(By.LINK_TEXT, seeded["tracking_number"]).click()
    wait_for(browser, lambda d: "/staff/appeals/" in d.current_url)
    assert browser.find_element(By.TAG_NAME, "h1").text == seeded["tracking_number"]
    history = browser.find_element(By.ID, "h-history").find_element(By.XPATH, "..")
    changes = [
        cell.text for cell in history.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(3)")
    ]
    # The pipeline's steps, in order: registered, then sent to the organization.
    assert changes[:3] == [
        "Получено",
        "Получено → Зарегистрировано",
        "Зарегистрировано → Направлено исполнителю",
    ]
