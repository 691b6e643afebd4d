"""The analytics page and the weekly report in headless Chromium, as an analyst sees them.

Two months of a small city (``tests.test_analytics_pages.city``) with a yard in Auezov
without water in the last days; the worker's jobs run as they would overnight (hot spots,
the burst check of the days with the cluster, last week's reports), then an analyst signs
in, reads the page (charts drawn, each with its table), and opens last week's report.
With ``CIVICDESK_SCREENSHOTS=1`` the screenshots in docs/img/ (analytics.png,
weekly-report.png) are refreshed from this test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from analytics.bursts_service import check_day
from analytics.models import WeeklyReport
from analytics.report_service import store_reports
from civicdesk.web.analytics.pages import clear_cache
from core.clock import local, now
from core.models import Role
from tests.analytics_support import appeal_factory
from tests.test_analytics_pages import city, store_hotspots

if TYPE_CHECKING:
    from tests.browser_support import LiveServer

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def _keep(shot: Path, name: str) -> None:
    if os.environ.get("CIVICDESK_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMG / name)


def test_an_analyst_reads_the_page_and_last_weeks_report(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser_support import sign_in, wait_for

    today = local(now()).date()
    year, number, _ = (today - timedelta(days=7)).isocalendar()
    week = f"{year}-W{number:02d}"
    with live.session() as session:
        city(appeal_factory(session), days=63, cluster_open=False)
    store_hotspots()
    with live.session() as session:
        bursts = sum(
            check_day(session, day=today - timedelta(days=back), moment=now())["bursts"]
            for back in (3, 2, 1)
        )
        store_reports(session, week=week, generated_by="worker")
    assert bursts >= 1
    clear_cache()

    analyst, password = live.make_user(Role.ANALYST, full_name="Динара Аналитик")
    browser.set_window_size(1400, 2000)
    sign_in(browser, live, analyst.username, password, "/staff/analytics")
    wait_for(browser, lambda d: d.find_elements(By.ID, "districts-table"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Аналитика обращений"
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.an-chart img")
    assert len(charts) >= 7
    assert all(chart.get_property("naturalWidth") > 0 for chart in charts)  # drawn
    districts = browser.find_element(By.ID, "districts-table").text
    assert "Ауэзовский район" in districts
    assert browser.find_elements(By.CSS_SELECTOR, "#hotspots-table tbody tr")
    assert browser.find_elements(By.CSS_SELECTOR, "#bursts-table tbody tr")
    shot = tmp_path / "analytics.png"
    assert browser.save_screenshot(str(shot))
    _keep(shot, "analytics.png")

    link = browser.find_element(
        By.CSS_SELECTOR, "#reports-table a[href*='/staff/analytics/reports/']"
    )
    links = [
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "#reports-table a")
        if a.text.strip().lower().startswith("html")
    ]
    browser.get(links[-1] if links else str(link.get_attribute("href")))  # ru sorts after kk
    wait_for(browser, lambda d: d.find_elements(By.TAG_NAME, "h1"))
    assert week[-2:] in browser.find_element(By.TAG_NAME, "body").text
    # Its own inline style applies (the page's policy allows it, and no script).
    font = browser.execute_script("return getComputedStyle(document.body).fontFamily")
    assert "DejaVu Sans" in font
    report = tmp_path / "weekly-report.png"
    assert browser.save_screenshot(str(report))
    _keep(report, "weekly-report.png")

    # The same report as PDF, its first page rendered as the leadership will see it printed.
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is not None:
        with live.session() as session:
            pdf = session.scalar(
                select(WeeklyReport.content).where(
                    WeeklyReport.week == week,
                    WeeklyReport.language == "ru",
                    WeeklyReport.format == "pdf",
                )
            )
        assert pdf is not None and pdf.startswith(b"%PDF")
        (tmp_path / "report.pdf").write_bytes(pdf)
        subprocess.run(  # noqa: S603 - poppler on our own PDF
            [
                pdftoppm,
                "-png",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(tmp_path / "report.pdf"),
                str(tmp_path / "page"),
            ],
            check=True,
            timeout=60,
        )
        _keep(tmp_path / "page.png", "weekly-report-pdf.png")
