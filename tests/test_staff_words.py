"""The words on the pages, read as a Kazakh-speaking civil servant and a Russian editor
would: plural agreement, the deadline "not later than", appeal types as the Code names them,
the header, the flashes, the favicon, who is offered what on the SLA page, a refusal on the
board, and the answer's language at the answer form."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from appeals.lifecycle import Status, status_label
from appeals.models import Appeal
from civicdesk.web.plurals import plural, russian_form
from civicdesk.web.texts import t
from tests.conftest import hidden_field, staff_sign_in

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
LIGHT_KK = "Біздің көшеде үш күннен бері жарық жоқ, кешке балалар қараңғыда жүреді"


@pytest.mark.parametrize(
    ("number", "word"),
    [
        (0, "обращений"),
        (1, "обращение"),
        (2, "обращения"),
        (4, "обращения"),
        (5, "обращений"),
        (11, "обращений"),
        (12, "обращений"),
        (14, "обращений"),
        (21, "обращение"),
        (22, "обращения"),
        (25, "обращений"),
        (101, "обращение"),
        (111, "обращений"),
        (1000, "обращений"),
    ],
)
def test_russian_nouns_agree_with_the_number(number: int, word: str) -> None:
    assert plural(number, "обращение|обращения|обращений", "ru") == word
    text = t("incident.member", "ru", count=number, place="ул. Абая")
    assert f"{number} {word} о той же проблеме" in text
    # Kazakh keeps the noun singular after a numeral.
    assert f"{number} өтініш" in t("incident.member", "kk", count=number, place="Абай к.")


def test_the_russian_plural_rule_covers_every_ending() -> None:
    assert [russian_form(n) for n in (1, 2, 3, 4, 5, 10, 11, 19, 20, 21, 24, 100)] == [
        0, 1, 1, 1, 2, 2, 2, 2, 2, 0, 1, 2
    ]  # fmt: skip


def test_kazakh_words_say_what_the_russian_says(session: Session) -> None:
    from civicdesk.web.board.texts import bt
    from sla.service import deadline_policy

    assert status_label(Status.RECEIVED, "kk") == "Келіп түсті"
    assert bt("kk", "bucket.at_risk") == "Мерзімі өту қаупі бар"
    assert bt("kk", "bucket.paused") == "Тоқтатыла тұрған"
    assert "2 рабочих дня" in bt("ru", "board.risk_rule", days=2)
    assert "5 рабочих дней" in bt("ru", "board.risk_rule", days=5)
    assert "1 рабочий день" in bt("ru", "board.risk_rule", days=1)
    assert t("channel.front_office", "kk") == "Жеке қабылдау"
    assert t("action.send_back", "kk") == "Қайтару: құзыретімізге жатпайды"
    # "not all answered", not "none answered"
    assert "Кейбір" in t("staff_error.co_executor_parts_pending", "kk")
    types = deadline_policy().rules.appeal_types
    assert types["application"].name_kk == "Арыз"  # «өтініш» is every appeal
    assert types["response"].name_kk == "Ден қою"
    for key in ("console.quick", "console.metrics.abandoned", "console.metrics.missed_rings"):
        assert not {"Орнында", "Жоғалғаны", "алмағаны"} & set(t(key, "kk").split()), key


def test_the_receipt_says_not_later_than_and_never_before_unknown(
    session: Session, submit_appeal: Any
) -> None:
    from channels import notification_texts as texts

    assert texts.render("due_by", "ru", date="20.03.2026") == "не позднее 20.03.2026"
    receipt = texts.render(
        "receipt", "ru", tracking="X", registered_on="1", due=texts.render("no_date", "ru")
    )
    assert "Срок ответа: уточняется" in receipt and "до уточняется" not in receipt
    kazakh = texts.render(
        "receipt",
        "kk",
        tracking="X",
        registered_on="1",
        due=texts.render("due_by", "kk", date="20.03.2026"),
    )
    assert "20.03.2026, осы күнді қоса алғанда" in kazakh and "дейін" not in kazakh


def test_favicon_is_served(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_the_header_names_a_role_once(client: Any, session: Session, make_user: Any) -> None:
    inspector, password = make_user("inspector")
    inspector.full_name = "Инспектор"  # the development account is named after its role
    session.commit()
    staff_sign_in(client, inspector, password, next_path="/staff/appeals")
    page = client.get("/staff/appeals").text
    assert "Инспектор · Инспектор" not in page
    whoami = page.split('class="whoami"', 1)[1].split("</div>", 1)[0]
    assert whoami.count("Инспектор") == 1


def test_sla_flashes_say_what_happened_and_the_inspector_is_not_offered_the_clock(
    client: Any, session: Session, make_user: Any, submit_appeal: Any
) -> None:
    from routing.models import Organization

    appeal: Appeal = submit_appeal(WATER)
    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    executor, password = make_user("executor", org.code)
    inspector, _ = make_user("inspector")
    panel = f"/staff/appeals/{appeal.id}/sla"
    staff_sign_in(client, executor, password, next_path=panel)
    csrf = hidden_field(client.get(panel).text, "csrf")
    paused = client.post(
        f"{panel}/pause", data={"csrf": csrf, "reason_code": "citizen_documents", "comment": ""}
    )
    assert paused.status_code == 200
    assert "Срок приостановлен: дни ожидания не засчитываются." in paused.text
    assert "Готово." not in paused.text
    resumed = client.post(f"{panel}/resume", data={"csrf": csrf}, follow_redirects=False)
    assert resumed.headers["location"].endswith("?done=resume")
    kazakh = client.get(resumed.headers["location"] + "&lang=kk")
    assert "Мерзім жалғасты, күту күндері мерзімге қосылды." in kazakh.text

    staff_sign_in(client, inspector, password, next_path=panel)
    page = client.get(panel).text
    assert f'action="{panel}/pause"' not in page
    assert f'action="{panel}/request_extension"' not in page
    assert 'id="extension-link"' not in client.get(f"/staff/appeals/{appeal.id}").text


def test_a_refusal_on_the_board_is_no_filter_problem(
    client: Any, session: Session, make_user: Any
) -> None:
    operator, password = make_user("operator")
    staff_sign_in(client, operator, password, next_path="/staff/appeals")
    refused = client.get("/staff/board")
    assert refused.status_code == 403
    assert "Фильтр не применён" not in refused.text
    assert 'name="district"' not in refused.text  # no filter form
    assert "Контроль сроков доступен инспекторам" in refused.text
    executor, password = make_user("executor", "almaty-su")
    staff_sign_in(client, executor, password, next_path="/staff/appeals")
    other = client.get("/staff/board", params={"organization": "akimat-medeu", "lang": "kk"})
    assert other.status_code == 403
    assert "Орындаушы тек өз ұйымының мерзімдерін көреді." in other.text


def test_the_answer_form_asks_for_the_appeals_language(
    client: Any, session: Session, make_user: Any, submit_appeal: Any
) -> None:
    from civicdesk import appeal_actions

    appeal: Appeal = submit_appeal(LIGHT_KK, language="kk")
    admin, _ = make_user("admin")
    if appeal.organization_id is None:
        appeal_actions.perform(
            session, appeal, user=admin, action="route", organization_code="akimat-medeu"
        )
        session.commit()
    from routing.models import Organization

    org = session.get(Organization, appeal.organization_id)
    assert org is not None
    executor, password = make_user("executor", org.code)
    appeal_actions.perform(session, appeal, user=executor, action="accept")
    session.commit()
    staff_sign_in(client, executor, password, next_path="/staff/appeals")
    page = client.get(f"/staff/appeals/{appeal.id}").text
    assert "Обращение на казахском языке: ответ даётся на казахском" in page
    assert 'lang="kk" spellcheck="true"' in page
    sla = client.get(f"/staff/appeals/{appeal.id}/sla").text
    assert "напишите его на казахском" in sla
