"""An appeal's whole life in headless Chromium, in Russian and in Kazakh (issue 14).

Portal → executor → inspector returns → executor answers again → inspector accepts →
the citizen rates the answer on the status page, each role signed in through the forms,
the executor finding the appeal by its number typed with a space. Every page on the way is
in the chosen language.

With ``CIVICDESK_SCREENSHOTS=1`` (or when they are missing) the run saves the docs'
screenshots: ``docs/img/staff-appeal.png`` (the returned answer's banner),
``docs/img/staff-search.png`` (the list with a search) and ``docs/img/portal-rating.png``
(the status page with the rating form).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from appeals.lifecycle import Status
from appeals.models import Appeal
from core.models import Role
from ratings import answers

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
WATER_LEAK = {
    "ru": "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки",
    "kk": "Жандосов көшесінде су құбыры жарылып, су бір тәуліктен бері жолға ағып жатыр",
}
WORDS = {
    "ru": {
        "filed": "Обращение принято",
        "banner": "Инспектор вернул ответ на доработку",
        "rate": "Оцените ответ",
        "thanks": "Спасибо за оценку!",
    },
    "kk": {
        "filed": "Өтініш қабылданды",
        "banner": "Инспектор жауапты пысықтауға қайтарды",
        "rate": "Жауапты бағалаңыз",
        "thanks": "Бағалағаныңызға рақмет!",
    },
}
ANSWER = "Бригада выехала, утечка будет устранена, покрытие восстановим после работ."


def _shoot(browser: Any, name: str) -> None:
    target = IMG / name
    if os.environ.get("CIVICDESK_SCREENSHOTS") == "1" or not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(target))


def _submit(browser: Any, selector: str) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser_support import wait_for

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, selector).click()
    wait_for(browser, lambda d: old.id != d.find_element(By.TAG_NAME, "html").id)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_an_appeal_lives_from_the_portal_to_the_citizens_rating(
    browser: Any, live: Any, language: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.browser_support import sign_in, wait_for

    words = WORDS[language]
    # The citizen files on the portal.
    browser.get(f"{live.url}/?lang={language}")
    browser.find_element(By.ID, "f-text").send_keys(WATER_LEAK[language])
    browser.find_element(By.ID, "f-full_name").send_keys("Асель Нурланова")
    browser.find_element(By.ID, "f-phone").send_keys("+7 701 555 01 66")
    _submit(browser, "form.appeal-form button[type=submit]")
    wait_for(browser, lambda d: "new=1" in d.current_url)
    number = browser.find_element(By.CSS_SELECTOR, ".tracking-number").text.strip()
    assert words["filed"] in browser.page_source or number
    citizen = browser.get_cookie("cd_citizen")
    assert citizen is not None and citizen["httpOnly"]
    with live.session() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.tracking_number == number))
        assert appeal is not None and appeal.organization_id is not None
        from routing.models import Organization

        organization = session.get(Organization, appeal.organization_id)
        assert organization is not None
        appeal_id, code = appeal.id, organization.code
    executor, password = live.make_user(Role.EXECUTOR, code)
    inspector, _ = live.make_user(Role.INSPECTOR)

    # The executor finds it by the number typed with a space, accepts and answers.
    sign_in(browser, live, executor.username, password, "/staff/appeals")
    browser.get(f"{live.url}/staff/appeals?tab=all&lang={language}&q={number.replace('-', '+')}")
    link = browser.find_element(By.LINK_TEXT, number)
    if language == "ru":
        _shoot(browser, "staff-search.png")
    link.click()
    wait_for(browser, lambda d: f"/staff/appeals/{appeal_id}" in d.current_url)
    _submit(browser, "form[action$='/actions/accept'] button[type=submit]")
    browser.find_element(By.ID, "a-answer-text").send_keys(ANSWER)
    _submit(browser, "form[action$='/actions/answer'] button[type=submit]")

    # The inspector returns it with a reason and a comment.
    browser.delete_all_cookies()  # signed out: the next role signs in
    sign_in(browser, live, inspector.username, password, f"/staff/appeals/{appeal_id}")
    browser.get(f"{live.url}/staff/appeals/{appeal_id}?lang={language}")
    browser.find_element(By.CSS_SELECTOR, "#review-forms details summary").click()
    Select(browser.find_element(By.ID, "a-return-code")).select_by_value("missing_work_deadline")
    browser.find_element(By.ID, "a-return-comment").send_keys("Укажите срок работ")
    _submit(browser, "form[action$='/sla/return'] button[type=submit]")

    # The executor sees why, with the old answer to start from, and answers again.
    browser.delete_all_cookies()
    sign_in(browser, live, executor.username, password, f"/staff/appeals/{appeal_id}")
    browser.get(f"{live.url}/staff/appeals/{appeal_id}?lang={language}")
    banner = browser.find_element(By.ID, "rework-banner").text
    assert words["banner"] in banner and "Укажите срок работ" in banner
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/actions/accept']")
    text = browser.find_element(By.ID, "a-answer-text")
    assert text.get_attribute("value") == ANSWER
    if language == "ru":
        _shoot(browser, "staff-appeal.png")
    text.send_keys(" Работы завершим до 20 декабря.")
    _submit(browser, "form[action$='/actions/answer'] button[type=submit]")

    # The inspector accepts the answer: the citizen sees it.
    browser.delete_all_cookies()  # signed out: the next role signs in
    sign_in(browser, live, inspector.username, password, f"/staff/appeals/{appeal_id}")
    browser.get(f"{live.url}/staff/appeals/{appeal_id}?lang={language}")
    _submit(browser, "#review-forms form[action$='/sla/accept'] button[type=submit]")

    # The citizen, back in the browser that filed it, rates the answer.
    browser.delete_all_cookies()
    browser.add_cookie({"name": "cd_citizen", "value": citizen["value"], "path": "/"})
    browser.get(f"{live.url}/appeals/{number}?lang={language}")
    assert words["rate"] in browser.page_source
    assert "20 декабря" in browser.find_element(By.CSS_SELECTOR, ".answer-text").text
    browser.find_element(By.CSS_SELECTOR, "input[name=score][value='4']").click()
    browser.find_element(By.ID, "rate-comment").send_keys("Спасибо, но долго")
    if language == "ru":
        _shoot(browser, "portal-rating.png")
    _submit(browser, "form.rate-form button[type=submit]")
    wait_for(browser, lambda d: "rated=1" in d.current_url)
    assert words["thanks"] in browser.find_element(By.ID, "rated").text
    with live.session() as session:
        found = session.get(Appeal, appeal_id)
        assert found is not None and found.status is Status.CLOSED
        rating = answers.rating_for(session, appeal_id=appeal_id)
        assert rating is not None and (rating.score, rating.channel) == (4, "portal")
