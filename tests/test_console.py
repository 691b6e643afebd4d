"""The operator console as an operator uses it: the call panel, the card, the form, the stream."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from datetime import UTC, datetime
from string import Formatter
from typing import Any

import pytest

from civicdesk.web.console.texts import CONSOLE_TEXTS
from civicdesk.web.texts import LANGUAGES, TEXTS, t
from tests.conftest import hidden_field, staff_sign_in

PHONE = "+77017776655"
MIDDAY = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # 12:00 in Almaty
GARBAGE = "Во дворе дома 12 по улице Жандосова третий день не вывозят мусор, контейнеры полные"
GARBAGE_AGAIN = "Опять не вывозят мусор во дворе дома 12 по улице Жандосова, контейнеры переполнены"


# --- helpers -------------------------------------------------------------------------------


def _sign_in(client: Any, user: Any, password: str) -> None:
    staff_sign_in(client, user, password, next_path="/staff/console")


def _call(session: Any, operator: Any, *, phone: str | None = PHONE) -> Any:
    """A call connected to ``operator`` now, as the AMI listener records an AgentConnect."""
    from channels.telephony.models import Call, CallState
    from core.clock import now

    call = Call(
        uniqueid=f"1732280000.{uuid.uuid4().int % 100000}",
        linkedid=None,
        caller_e164=phone,
        queue="1308",
        operator_id=operator.id,
        state=CallState.CONNECTED,
        started_at=now(),
        answered_at=now(),
    )
    session.add(call)
    session.commit()
    return call


def _citizen_with_open_appeal(submit_appeal: Any, name: str = "Гульнара Ахметова") -> Any:
    from intake.schemas import CitizenContact

    return submit_appeal(text=GARBAGE, citizen=CitizenContact(phone=PHONE, full_name=name))


def _form(page: str, **fields: str) -> dict[str, str]:
    data = {name: hidden_field(page, name) for name in ("csrf", "call", "seq", "key")}
    data.update(fields)
    return data


# --- texts ---------------------------------------------------------------------------------


def test_console_texts_exist_in_both_languages_and_join_the_shared_table() -> None:
    names = Formatter()
    for key, entry in CONSOLE_TEXTS.items():
        assert key.startswith("console."), key
        assert set(entry) == set(LANGUAGES), key
        fields = [{f for _, f, _, _ in names.parse(entry[language]) if f} for language in LANGUAGES]
        assert fields[0] == fields[1], key
        assert TEXTS[key] is entry
    assert t("console.nav", "kk") == "Оператор консолі"


# --- access --------------------------------------------------------------------------------


def test_console_is_for_operators_and_admins(client: Any, make_user: Any) -> None:
    anonymous = client.get("/staff/console", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/staff/login?next=/staff/console")
    executor, password = make_user("executor", "almaty-su")
    _sign_in(client, executor, password)
    refused = client.get("/staff/console")
    assert refused.status_code == 403
    assert t("console.forbidden", "ru") in refused.text
    assert 'href="/staff/console"' not in refused.text  # no nav link for executors
    assert client.get("/staff/console/metrics").status_code == 403
    assert client.get("/staff/console/events").status_code == 403
    operator, password = make_user("operator")
    _sign_in(client, operator, password)
    page = client.get("/staff/console")
    assert page.status_code == 200
    assert 'href="/staff/console" aria-current="page"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/console.js" defer></script>' in page.text
    assert t("console.call.none", "ru") in page.text
    kazakh = client.get("/staff/console", params={"lang": "kk"})
    assert t("console.heading", "kk") in kazakh.text


# --- the caller card (channels.telephony.console) ---------------------------------------


def test_caller_card_follows_merged_records(session: Any, submit_appeal: Any) -> None:
    from channels.telephony import console
    from intake.repeats import identity
    from intake.schemas import CitizenContact

    first = _citizen_with_open_appeal(submit_appeal)
    other = submit_appeal(
        text="Не работает уличное освещение возле школы на улице Толе би уже неделю",
        citizen=CitizenContact(telegram_user_id="777001", full_name="Гульнара"),
    )
    identity.merge(
        session,
        kept_id=first.citizen_id,
        merged_id=other.citizen_id,
        reason="operator",
        evidence={},
        by=None,
    )
    session.commit()
    card = console.caller_card(session, phone_e164="8 701 777 66 55")
    assert card.known and card.phone_e164 == PHONE
    assert card.full_name == "Гульнара Ахметова"
    assert sorted(card.citizen_ids) == sorted([first.citizen_id, other.citizen_id])
    assert {row.tracking_number for row in card.open_appeals} == {
        first.tracking_number,
        other.tracking_number,
    }
    assert card.appeals_total == 2 and card.repeat_caller

    unknown = console.caller_card(session, phone_e164="+77019990011")
    assert unknown.phone_e164 == "+77019990011" and not unknown.known
    assert unknown.open_appeals == [] and not unknown.repeat_caller
    withheld = console.caller_card(session, phone_e164="anonymous")
    assert withheld.phone_e164 is None and not withheld.known


def test_repeat_hint_names_the_open_appeal_on_the_same_problem(
    session: Any, submit_appeal: Any
) -> None:
    from channels.telephony import console

    earlier = _citizen_with_open_appeal(submit_appeal)
    card = console.caller_card(session, phone_e164=PHONE)
    hints = console.repeat_hint(
        session,
        card=card,
        text=GARBAGE_AGAIN,
        category_code=earlier.category_code,
        district_code=earlier.district_code,
    )
    assert [(hint.kind, hint.tracking_number) for hint in hints][:1] == [
        ("repeat", earlier.tracking_number)
    ]
    unrelated = console.repeat_hint(
        session,
        card=card,
        text="Прошу предоставить информацию о графике приёма граждан в акимате района",
        category_code=None,
        district_code=None,
    )
    assert all(hint.kind != "repeat" for hint in unrelated)


# --- the screen-pop panel ------------------------------------------------------------------


def test_panel_shows_the_caller_their_appeals_and_the_repeat_warning(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    earlier = _citizen_with_open_appeal(submit_appeal)
    operator, password = make_user("operator")
    call = _call(session, operator)
    _sign_in(client, operator, password)
    panel = client.get("/staff/console/panel", params={"call": call.id})
    assert panel.status_code == 200
    assert PHONE in panel.text
    assert "Гульнара Ахметова" in panel.text
    assert earlier.tracking_number in panel.text
    assert 'class="note note-warn repeat-warning"' in panel.text
    assert f'href="/staff/console/citizens/{earlier.citizen_id}"' in panel.text
    assert hidden_field(panel.text, "call") == str(call.id)
    assert hidden_field(panel.text, "seq") == "1"
    assert f'value="{PHONE}"' in panel.text  # the form already has the caller's number
    assert client.get("/staff/console/panel", params={"call": "999999"}).status_code == 404
    # Without ?call the page shows the call the operator is on (a reload, no JavaScript).
    page = client.get("/staff/console")
    assert earlier.tracking_number in page.text and PHONE in page.text


def test_panel_for_an_unknown_caller_says_so(client: Any, session: Any, make_user: Any) -> None:
    operator, password = make_user("operator")
    call = _call(session, operator, phone="+77015550000")
    withheld = _call(session, operator, phone=None)
    _sign_in(client, operator, password)
    panel = client.get("/staff/console/panel", params={"call": call.id})
    assert t("console.caller.new", "ru") in panel.text
    hidden = client.get("/staff/console/panel", params={"call": withheld.id})
    assert t("console.call.withheld", "ru") in hidden.text


def test_citizen_history_lists_every_appeal(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    earlier = _citizen_with_open_appeal(submit_appeal)
    operator, password = make_user("operator")
    _sign_in(client, operator, password)
    page = client.get(f"/staff/console/citizens/{earlier.citizen_id}")
    assert page.status_code == 200
    assert earlier.tracking_number in page.text
    assert t("console.history.total", "ru", count=1) in page.text
    assert client.get("/staff/console/citizens/0").status_code == 404


# --- suggest, file, answer on the spot ----------------------------------------------------


def test_suggest_returns_the_dry_run_and_needs_the_form_token(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    from routing.advice import advise

    earlier = _citizen_with_open_appeal(submit_appeal)
    operator, password = make_user("operator")
    _sign_in(client, operator, password)
    page = client.get("/staff/console")
    csrf = hidden_field(page.text, "csrf")
    body = {"csrf": csrf, "text": GARBAGE_AGAIN, "phone": PHONE}
    answer = client.post("/staff/console/suggest", data=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    expected = advise(session, text=GARBAGE_AGAIN, language="ru")
    assert data["category"] == expected["category"]
    assert data["organization_code"] == expected["organization_code"]
    assert data["district"] == expected["district"]
    assert data["urgency"] == expected["urgency"]
    assert any(earlier.tracking_number in hint["text"] for hint in data["hints"])
    refused = client.post("/staff/console/suggest", data={**body, "csrf": "forged"})
    assert refused.status_code == 403


def test_suggest_without_javascript_fills_the_form_in(
    client: Any, session: Any, make_user: Any
) -> None:
    from routing.advice import advise

    operator, password = make_user("operator")
    call = _call(session, operator, phone="+77015550001")
    _sign_in(client, operator, password)
    panel = client.get("/staff/console", params={"call": call.id})
    text = "На проспекте Абая напротив дома 150 глубокая яма на дороге, машины бьют колёса"
    page = client.post(
        "/staff/console/appeals", data=_form(panel.text, intent="suggest", text=text)
    )
    assert page.status_code == 200
    expected = advise(session, text=text, language="ru")
    assert expected["category"]
    assert f'<option value="{expected["category"]}" selected>' in page.text
    assert html.escape(text, quote=False) in page.text
    assert hidden_field(page.text, "call") == str(call.id)


def test_filing_from_a_call_links_it_and_a_double_click_files_once(
    client: Any, session: Any, make_user: Any
) -> None:
    from appeals.models import Appeal, Channel
    from channels.telephony.service import appeals_of_call

    operator, password = make_user("operator")
    call = _call(session, operator, phone="+77015550002")
    _sign_in(client, operator, password)
    panel = client.get("/staff/console", params={"call": call.id})
    data = _form(panel.text, intent="file", text=GARBAGE, phone="+77015550002", full_name="Ержан")
    first = client.post("/staff/console/appeals", data=data, follow_redirects=False)
    assert first.status_code == 303, first.text
    again = client.post("/staff/console/appeals", data=data, follow_redirects=False)
    assert again.headers["location"] == first.headers["location"]
    session.expire_all()
    linked = appeals_of_call(session, call.id)
    assert len(linked) == 1
    appeal = session.get(Appeal, linked[0])
    assert appeal.channel is Channel.PHONE
    assert appeal.external_id == f"call-{call.uniqueid}-1"
    assert appeal.submitted_by_id == operator.id
    assert appeal.status.value in {"assigned", "registered"}  # processed while on the phone
    done = client.get(first.headers["location"])
    assert appeal.tracking_number in done.text
    assert t("console.done.filed", "ru").split("{")[0] in done.text
    # A second problem in the same call: the refreshed form counts on.
    assert hidden_field(done.text, "seq") == "2"
    second = client.post(
        "/staff/console/appeals",
        data=_form(
            done.text,
            intent="file",
            text="И ещё во дворе не горит фонарь у подъезда номер три, темно вечером",
            phone="+77015550002",
        ),
        follow_redirects=False,
    )
    assert second.status_code == 303
    assert len(appeals_of_call(session, call.id)) == 2


def test_the_operators_organization_and_urgency_win(
    client: Any, session: Any, make_user: Any
) -> None:
    from appeals.models import Appeal
    from routing.service import organization_by_code

    operator, password = make_user("operator")
    _sign_in(client, operator, password)
    page = client.get("/staff/console")
    target = organization_by_code(session, "akimat-medeu")
    response = client.post(
        "/staff/console/appeals",
        data=_form(
            page.text,
            intent="file",
            text=GARBAGE,
            phone="+77015550003",
            organization_code="akimat-medeu",
            urgency="high",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    filed = re.search(r"filed=(\d+)", response.headers["location"])
    assert filed is not None
    appeal_id = int(filed.group(1))
    session.expire_all()
    appeal = session.get(Appeal, appeal_id)
    assert appeal.organization_id == target.id
    assert appeal.urgency == "high"
    assert appeal.external_id.startswith("console-")  # no call: the form's own key


def test_answered_on_the_spot_closes_the_contact(client: Any, session: Any, make_user: Any) -> None:
    from appeals.models import Appeal
    from channels.telephony.service import appeals_of_call

    operator, password = make_user("operator")
    call = _call(session, operator, phone="+77015550004")
    _sign_in(client, operator, password)
    panel = client.get("/staff/console", params={"call": call.id})
    question = "Подскажите, пожалуйста, часы приёма граждан в акимате Медеуского района"
    short = client.post(
        "/staff/console/appeals",
        data=_form(panel.text, intent="quick", text=question, answer="пн"),
    )
    assert short.status_code == 422
    assert html.escape(t("staff_error.answer_too_short", "ru"), quote=False) in short.text
    assert html.escape(question, quote=False) in short.text  # nothing typed is lost
    assert appeals_of_call(session, call.id) == []
    answer = "Приём граждан в акимате Медеуского района: по будням с 9:00 до 18:00, каб. 101"
    done = client.post(
        "/staff/console/appeals",
        data=_form(panel.text, intent="quick", text=question, answer=answer),
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    session.expire_all()
    (appeal_id,) = appeals_of_call(session, call.id)
    appeal = session.get(Appeal, appeal_id)
    assert appeal.status.value == "quick_answered"
    assert appeal.answer_text == answer and appeal.answered_by_id == operator.id


def test_forms_without_a_valid_token_are_refused(client: Any, session: Any, make_user: Any) -> None:
    from appeals.models import Appeal

    operator, password = make_user("operator")
    _sign_in(client, operator, password)
    page = client.get("/staff/console")
    before = session.query(Appeal).count()
    refused = client.post(
        "/staff/console/appeals",
        data={**_form(page.text, intent="file", text=GARBAGE), "csrf": "forged"},
    )
    assert refused.status_code == 403
    assert session.query(Appeal).count() == before
    callback = client.post("/staff/console/callback", data={"csrf": "", "phone": PHONE})
    assert callback.status_code == 403


# --- the screen-pop stream -----------------------------------------------------------------


def test_pop_stream_says_ready_then_pops_then_keeps_alive() -> None:
    from channels.telephony.screen_pop import MemoryScreenPopBus, ScreenPop
    from civicdesk.web.console.live import pop_stream
    from core.clock import now

    async def scenario() -> list[str]:
        bus = MemoryScreenPopBus()
        stream = pop_stream(bus, 42, heartbeat_s=0.05)
        seen = [await anext(stream)]
        assert bus.subscriber_count(42) == 1
        bus.publish(
            ScreenPop(
                call_id=7,
                uniqueid="1.1",
                caller_e164=PHONE,
                queue="1308",
                operator_id=41,  # another operator's call: not for this console
                connected_at=now(),
            )
        )
        bus.publish(
            ScreenPop(
                call_id=8,
                uniqueid="1.2",
                caller_e164=PHONE,
                queue="1308",
                operator_id=42,
                connected_at=now(),
            )
        )
        seen.append(await anext(stream))
        seen.append(await anext(stream))
        await stream.aclose()
        assert bus.subscriber_count(42) == 0
        return seen

    ready, pop, ping = asyncio.run(scenario())
    assert "event: ready" in ready
    assert pop.startswith("event: pop\nid: 8\n")
    assert '"call_id": 8' in pop and PHONE not in pop  # ids only; the panel shows the rest
    assert ping == ": ping\n\n"


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_metric_cells_format_the_header(language: str) -> None:
    from civicdesk.web.console.live import metric_cells

    cells = {
        cell["name"]: cell["text"]
        for cell in metric_cells(
            {"offered": 40, "answered": 36, "abandonment_rate": 0.1, "asa_s": 12.4}, language
        )
    }
    assert cells["offered"] == "40" and cells["answered"] == "36"
    assert cells["abandonment_rate"] == "10.0%"
    assert cells["asa"] == "12 с"
    assert cells["aht"] == "—"


# --- queue metrics and the callback (channels.telephony) ----------------------------------


def _feed_answered_call(caller: str, interface: str) -> None:
    """A whole answered 1308 call through the AMI event pipeline (as the listener runs it),
    five minutes before ``MIDDAY``."""
    from channels.telephony import scenarios
    from channels.telephony.pipeline import EventPipeline

    t0 = MIDDAY.timestamp() - 300
    events = scenarios.answered_call(
        t0=t0, serial=int(t0) % 100000, caller=caller, interface=interface, hold_s=12, talk_s=95
    )
    EventPipeline(bus=None).process([{k.lower(): v for k, v in e.items()} for e in events])


def test_metrics_header_counts_todays_calls(client: Any, session: Any, make_user: Any) -> None:
    from core.clock import frozen

    operator, password = make_user("operator")
    _sign_in(client, operator, password)
    with frozen(MIDDAY):  # "today" in Almaty, whatever the hour the suite runs
        _feed_answered_call("87015550010", "PJSIP/1999")
        body = client.get("/staff/console/metrics").json()
    cells = {cell["name"]: cell["text"] for cell in body["cells"]}
    assert body["raw"]["offered"] >= 1 and body["raw"]["answered"] >= 1
    assert cells["missed_rings"] == str(body["raw"]["missed_rings"])
    assert cells["offered"] == str(body["raw"]["offered"])
    assert cells["asa"].endswith(" с") and cells["service_level"].endswith("%")
    page = client.get("/staff/console")
    assert t("console.metrics.service_level", "ru") in page.text
    assert 'data-metric="offered"' in page.text


def test_callback_is_requested_for_the_caller(
    client: Any, session: Any, make_user: Any, submit_appeal: Any, settings: Any, monkeypatch: Any
) -> None:
    from channels.telephony.models import Call, CallAppeal
    from core import settings as settings_module
    from core.models import StaffUser

    # The call center's telephony is configured (a listener would dial the callback).
    telephony = settings.model_copy(update={"ami_host": "127.0.0.1"})
    monkeypatch.setattr(settings_module, "_override", telephony)

    operator, password = make_user("operator")
    appeal = _citizen_with_open_appeal(submit_appeal)
    call = _call(session, operator)
    _sign_in(client, operator, password)
    page = client.get("/staff/console", params={"call": call.id})
    csrf = hidden_field(page.text, "csrf")
    assert 'id="no-telephony"' not in page.text
    # The form offers the caller's open appeal to link the callback to.
    assert f'<option value="{appeal.id}">' in page.text
    # No phone of their own in the call center yet: refused, with the reason.
    refused = client.post(
        "/staff/console/callback", data={"csrf": csrf, "phone": PHONE, "call": str(call.id)}
    )
    assert refused.status_code == 409
    assert t("console.error.no_sip_interface", "ru") in refused.text
    row = session.get(StaffUser, operator.id)
    row.sip_interface = f"PJSIP/{operator.id + 5000}"
    session.commit()
    foreign = client.post("/staff/console/callback", data={"csrf": csrf, "phone": "+79161234567"})
    assert foreign.status_code == 422
    assert t("console.error.not_kz_number", "ru") in foreign.text
    placed = client.post(
        "/staff/console/callback",
        data={
            "csrf": csrf,
            "phone": "8 701 777 66 55",
            "call": str(call.id),
            "appeal_id": str(appeal.id),
        },
        follow_redirects=False,
    )
    assert placed.status_code == 303, placed.text
    found = re.search(r"callback=(\d+)", placed.headers["location"])
    assert found is not None
    callback_id = int(found.group(1))
    session.expire_all()
    requested = session.get(Call, callback_id)
    assert requested.caller_e164 == PHONE and requested.requested_by_id == operator.id
    assert requested.state.value == "requested"
    assert requested.origin_call_id == call.id  # the call the operator was on
    linked = session.query(CallAppeal).filter_by(call_id=callback_id).one()
    assert linked.appeal_id == appeal.id
    # Asked for, not yet placed: the console says so, and says nothing of success.
    shown = client.get(placed.headers["location"])
    assert t("console.callback.pending", "ru") in html.unescape(shown.text)
    assert 'id="callback-status"' in shown.text and "data-final" not in shown.text
    status = client.get(f"/staff/console/callbacks/{callback_id}")
    assert status.json() == {
        "id": callback_id,
        "outcome": "pending",
        "final": False,
        "text": t("console.callback.pending", "ru"),
    }


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_a_callback_without_telephony_says_so_at_once(
    client: Any, session: Any, make_user: Any, language: str
) -> None:
    """No CIVICDESK_AMI_HOST (``make run``'s default): nothing would dial the callback, so
    the console refuses it with the reason instead of showing "dialling" (issue 14, item 9)."""
    from channels.telephony.models import Call
    from core.models import StaffUser

    operator, password = make_user("operator")
    session.get(StaffUser, operator.id).sip_interface = f"PJSIP/{operator.id + 6000}"
    session.commit()
    _sign_in(client, operator, password)
    page = client.get("/staff/console", params={"lang": language})
    assert 'id="no-telephony"' in page.text  # said before the button is pressed, too
    refused = client.post(
        "/staff/console/callback",
        data={"csrf": hidden_field(page.text, "csrf"), "phone": "8 701 777 66 55"},
    )
    assert refused.status_code == 409
    assert t("console.error.no_telephony", language) in html.unescape(refused.text)
    session.expire_all()
    assert session.query(Call).filter_by(requested_by_id=operator.id).count() == 0


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_console_shows_how_the_callback_went(
    client: Any, session: Any, make_user: Any, language: str
) -> None:
    """The outcome comes from Asterisk's events: the citizen answered ("дозвонились") or
    the operator's phone / the citizen did not ("не удалось"), in the operator's language."""
    from channels.telephony.originate import mark_failed, request_callback
    from channels.telephony.pipeline import EventPipeline

    operator, password = make_user("operator")
    operator.sip_interface = f"PJSIP/{operator.id + 6000}"
    session.commit()
    _sign_in(client, operator, password)
    client.cookies.set("lang", language)

    def placed(phone: str) -> Any:
        callback = request_callback(session, operator=operator, phone_e164=phone)
        session.commit()
        return callback

    def outcome(callback_id: int) -> dict[str, Any]:
        body: dict[str, Any] = client.get(f"/staff/console/callbacks/{callback_id}").json()
        return body

    refused = placed("+77017776601")
    mark_failed(session, call_id=refused.id, reason="operator_no_answer")  # OriginateResponse
    session.commit()
    reason = t("console.callback.reason.operator_no_answer", language)
    assert outcome(refused.id) == {
        "id": refused.id,
        "outcome": "failed",
        "final": True,
        "text": t("console.callback.failed", language, reason=reason),
    }

    answered = placed("+77017776602")
    leg = {"channel": "PJSIP/6001-00000001", "uniqueid": answered.uniqueid}
    leg["linkedid"] = answered.uniqueid
    dest = {"destchannel": "PJSIP/kcell-trunk-00000002", "destuniqueid": "1795150000.2"}
    EventPipeline(bus=None).process(
        [
            {"event": "Newchannel", **leg},
            {"event": "DialBegin", **leg, **dest},
            {"event": "DialEnd", **leg, **dest, "dialstatus": "ANSWER"},
        ]
    )
    assert outcome(answered.id)["text"] == t("console.callback.connected", language)
    page = client.get("/staff/console", params={"callback": answered.id})
    assert t("console.callback.connected", language) in html.unescape(page.text)
    other, other_password = make_user("operator")
    _sign_in(client, other, other_password)
    assert client.get(f"/staff/console/callbacks/{answered.id}").status_code == 404


def test_a_reload_does_not_show_a_call_whose_hangup_was_lost(
    client: Any, session: Any, make_user: Any
) -> None:
    """A "connected" call from hours ago (the listener missed its Hangup) is not the
    operator's current call; one answered a minute ago is."""
    from datetime import timedelta

    from core.clock import now

    operator, password = make_user("operator")
    stale = _call(session, operator, phone="+77017776611")
    stale.answered_at = stale.started_at = now() - timedelta(hours=3)
    session.commit()
    _sign_in(client, operator, password)
    page = client.get("/staff/console")
    assert 'id="no-call"' in page.text and "+77017776611" not in page.text
    _call(session, operator, phone="+77017776612")
    assert "+77017776612" in client.get("/staff/console").text


def test_pop_stream_over_redis_reaches_another_process_style_subscriber(redis_url: str) -> None:
    """With Redis configured the AMI listener and the web process meet on pub/sub."""
    from channels.telephony.screen_pop import RedisScreenPopBus, ScreenPop
    from civicdesk.web.console.live import pop_stream
    from core.clock import now

    operator_id = 900_000 + uuid.uuid4().int % 99_999  # a channel no other test uses

    async def scenario() -> str:
        bus = RedisScreenPopBus(redis_url)
        stream = pop_stream(bus, operator_id, heartbeat_s=0.2)
        assert "event: ready" in await anext(stream)
        pop = ScreenPop(
            call_id=11,
            uniqueid="2.1",
            caller_e164=PHONE,
            queue="1308",
            operator_id=operator_id,
            connected_at=now(),
        )
        message = ""
        for _ in range(25):  # the subscription completes within a heartbeat or two
            bus.publish(pop)
            message = await anext(stream)
            if message.startswith("event: pop"):
                break
        await stream.aclose()
        return message

    assert asyncio.run(scenario()).startswith("event: pop\nid: 11\n")
