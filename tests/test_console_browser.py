"""Headless Chromium: an AgentConnect through the AMI event pipeline pops the caller's card
up in the operator's console; the form is filled by NLP and files the appeal for the call.

Saves the screenshot ``docs/img/operator-console.png`` (the popped card and the suggested
form) when ``CIVICDESK_SCREENSHOTS=1``, or always when the file does not exist yet.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from tests.browser_support import LiveServer, sign_in, wait_for

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "operator-console.png"
CALLER = "87017776655"
CALLER_E164 = "+77017776655"
INTERFACE = "PJSIP/1307"
EARLIER = "Во дворе дома 12 по улице Жандосова в Бостандыкском районе третий день не вывозят мусор"
SAID = (
    "Опять не вывозят мусор во дворе дома 12 по улице Жандосова в Бостандыкском районе, "
    "контейнеры переполнены, запах на весь двор"
)


def _prepare(live: LiveServer) -> tuple[Any, str, str]:
    """An operator with a phone in the call center, and a caller with an open appeal."""
    from appeals.models import Channel
    from core.models import StaffUser
    from intake import pipeline
    from intake.schemas import CitizenContact, IncomingContact
    from intake.service import submit

    operator, password = live.make_user("operator", full_name="Айгерим Сапарова")
    with live.session() as session:
        row = session.get(StaffUser, operator.id)
        assert row is not None
        row.sip_interface = f"{INTERFACE}-{operator.id}"
        result = submit(
            session,
            IncomingContact(
                channel=Channel.TELEGRAM,
                text=EARLIER,
                citizen=CitizenContact(phone=CALLER, full_name="Гульнара Ахметова"),
            ),
        )
        pipeline.process(session, result.appeal_id)
    return operator, password, result.tracking_number


def _agent_connect(live: LiveServer, interface: str, caller: str = CALLER) -> float:
    """The events of a 1308 call up to AgentConnect, through the AMI event pipeline (the
    code the listener runs): it records the call and publishes the screen-pop."""
    from channels.telephony import scenarios
    from channels.telephony.pipeline import EventPipeline
    from channels.telephony.screen_pop import screen_pop_bus

    t0 = time.time() - 20
    events = scenarios.answered_call(
        t0=t0, serial=2 * (uuid.uuid4().int % 50000), caller=caller, interface=interface
    )
    upto = next(i for i, event in enumerate(events) if event["Event"] == "AgentConnect")
    pipeline = EventPipeline(bus=screen_pop_bus(live.settings))
    sent = time.time()
    pops = pipeline.process(
        [{k.lower(): v for k, v in event.items()} for event in events[: upto + 1]]
    )
    assert len(pops) == 1, pipeline.stats.as_dict()
    return sent


def test_agent_connect_pops_the_caller_up_and_the_operator_files_the_appeal(
    browser: Any, live: LiveServer
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from appeals.models import Appeal
    from channels.telephony.models import Call

    operator, password, earlier = _prepare(live)
    sign_in(browser, live, operator.username, password, "/staff/console")
    assert "/staff/console" in browser.current_url
    # The stream is open and subscribed before the call comes in.
    wait_for(
        browser,
        lambda d: d.find_element(By.ID, "live-state").get_attribute("data-state") == "on",
    )
    assert not browser.find_elements(By.ID, "caller-card")

    sent = _agent_connect(live, f"{INTERFACE}-{operator.id}")
    card = wait_for(browser, lambda d: d.find_elements(By.ID, "caller-card"))[0]
    # console.js stamps the moment it showed the card (the browser's clock is this machine's).
    popped_at_ms = int(browser.find_element(By.ID, "console-call").get_attribute("data-popped-at"))
    popped_after_s = popped_at_ms / 1000 - sent
    assert CALLER_E164 in browser.find_element(By.ID, "call-panel").text
    assert "Гульнара Ахметова" in card.text
    assert earlier in card.text
    assert browser.find_element(By.CSS_SELECTOR, ".repeat-warning").is_displayed()
    assert browser.find_element(By.ID, "c-phone").get_attribute("value") == CALLER_E164
    print(f"screen-pop shown {popped_after_s * 1000:.0f} ms after AgentConnect was processed")

    # The operator types what the caller says; "suggest" fills the selects in place.
    browser.find_element(By.ID, "c-text").send_keys(SAID)
    browser.find_element(By.ID, "suggest-button").click()
    wait_for(
        browser,
        lambda d: Select(d.find_element(By.ID, "c-category")).first_selected_option.get_attribute(
            "value"
        ),
    )
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#repeat-hints .repeat-hint"))
    assert earlier in browser.find_element(By.ID, "repeat-hints").text
    assert Select(
        browser.find_element(By.ID, "c-organization")
    ).first_selected_option.get_attribute("value")
    if os.environ.get("CIVICDESK_SCREENSHOTS") == "1" or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(SCREENSHOT))

    browser.find_element(By.ID, "file-button").click()
    flash = wait_for(browser, lambda d: d.find_elements(By.ID, "console-flash"))[0]
    with live.session() as session:
        call = session.query(Call).filter(Call.caller_e164 == CALLER_E164).one()
        assert call.operator_id == operator.id
        from channels.telephony.service import appeals_of_call

        (appeal_id,) = appeals_of_call(session, call.id)
        appeal = session.get(Appeal, appeal_id)
        assert appeal is not None and appeal.submitted_by_id == operator.id
        assert appeal.external_id == f"call-{call.uniqueid}-1"
        assert appeal.tracking_number in flash.text
    # Back on the call's panel, ready for a second appeal in the same call.
    assert browser.find_element(By.NAME, "seq").get_attribute("value") == "2"

    # The operator starts typing; the next call must not throw the half-typed form away.
    wait_for(
        browser,
        lambda d: d.find_element(By.ID, "live-state").get_attribute("data-state") == "on",
    )
    browser.find_element(By.ID, "c-text").send_keys("Ещё вопрос про освещение")
    _agent_connect(live, f"{INTERFACE}-{operator.id}", caller="87015550099")
    notice = wait_for(browser, lambda d: d.find_element(By.ID, "new-call").is_displayed())
    assert notice
    assert browser.find_element(By.ID, "c-text").get_attribute("value").startswith("Ещё вопрос")
    browser.find_element(By.ID, "open-call").click()
    wait_for(browser, lambda d: "+77015550099" in d.find_element(By.ID, "call-panel").text)
    assert "Новый заявитель" in browser.find_element(By.ID, "caller-card").text
