"""The server-rendered pages as people use them: the citizens' portal and the staff side."""

from __future__ import annotations

import html
import re
import uuid
from string import Formatter
from typing import Any

from civicdesk.web.texts import LANGUAGES, TEXTS, t
from core.settings import get_settings

WATER = "На улице Жандосова прорвало трубу водопровода, вода течёт по дороге уже сутки"
LIGHT_KK = "Біздің көшеде үш күннен бері жарық жоқ, кешке балалар қараңғыда жүреді"
SU, MEDEU = "almaty-su", "akimat-medeu"


# --- helpers -------------------------------------------------------------------------------


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} on the page"
    return html.unescape(match.group(1))


def _post_appeal(client: Any, language: str = "ru", **fields: str) -> Any:
    form_page = client.get("/", params={"lang": language})
    assert form_page.status_code == 200
    data = {
        "text": WATER,
        "full_name": "Асель Нурланова",
        "phone": "+7 701 765 43 21",
        "idempotency_key": _hidden(form_page.text, "idempotency_key"),
        "lang": language,
        **fields,
    }
    return client.post("/appeals", data=data, follow_redirects=False)


def _tracking_number(response: Any) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/appeals/([0-9A-Z-]+)\?lang=(ru|kk)&new=1", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def _sign_in(client: Any, user: Any, password: str) -> Any:
    client.cookies.clear()
    page = client.get("/staff/login")
    assert page.status_code == 200
    return client.post(
        "/staff/login",
        data={
            "username": user.username,
            "password": password,
            "login_csrf": _hidden(page.text, "login_csrf"),
            "next": "/staff/appeals",
        },
        follow_redirects=False,
    )


def _place(session: Any, appeal: Any, organization_code: str, admin: Any) -> Any:
    """Make sure the appeal sits with this organization, whatever the classifier decided."""
    from appeals.models import Appeal
    from civicdesk import appeal_actions
    from routing.service import organization_by_code

    target = organization_by_code(session, organization_code)
    if appeal.organization_id != target.id:
        appeal_actions.perform(
            session,
            appeal,
            user=admin,
            action="route",
            organization_code=organization_code,
            reason="test setup",
        )
        session.commit()
    placed = session.get(Appeal, appeal.id, populate_existing=True)
    assert placed.organization_id == target.id
    return placed


def _status_of(session: Any, appeal_id: int) -> str:
    from appeals.models import Appeal

    session.expire_all()
    return str(session.get(Appeal, appeal_id).status.value)


# --- texts ---------------------------------------------------------------------------------


def test_every_text_exists_in_russian_and_kazakh_with_the_same_placeholders() -> None:
    names = Formatter()
    for key, entry in TEXTS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[language].strip() for language in LANGUAGES), key
        fields = [{f for _, f, _, _ in names.parse(entry[language]) if f} for language in LANGUAGES]
        assert fields[0] == fields[1], key
    for code in (
        "text_too_short",
        "text_too_long",
        "invalid_phone",
        "unknown_category",
        "unknown_district",
        "unknown_appeal_type",
        "tracking_number_not_found",
        "validation_failed",
    ):
        assert f"error.{code}" in TEXTS
    # Kazakh texts are written with Kazakh letters, not Russian look-alikes.
    kazakh = " ".join(entry["kk"] for entry in TEXTS.values())
    assert set("әғқңөұүі") <= set(kazakh.lower())


# --- the portal ----------------------------------------------------------------------------


def test_form_is_in_the_chosen_language_and_the_choice_is_remembered(client: Any) -> None:
    page = client.get("/", params={"lang": "kk"})
    assert page.status_code == 200
    assert '<html lang="kk">' in page.text
    for key in ("form.heading", "form.anonymous", "form.deadline", "form.privacy"):
        assert html.escape(t(key, "kk"), quote=False) in page.text, key
    assert t("form.category_unknown", "kk") in page.text
    assert 'href="/?lang=ru"' in page.text  # the switch back to Russian
    assert page.cookies.get("lang") == "kk"
    again = client.get("/")
    assert t("form.heading", "kk") in again.text
    russian = client.get("/", params={"lang": "ru"})
    assert t("form.heading", "ru") in russian.text and '<html lang="ru">' in russian.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"
    # Two renders, two idempotency keys: each form is one appeal.
    assert _hidden(again.text, "idempotency_key") != _hidden(russian.text, "idempotency_key")


def test_file_in_russian_and_read_the_status_page(client: Any) -> None:
    number = _tracking_number(_post_appeal(client, "ru"))
    page = client.get(f"/appeals/{number}", params={"lang": "ru", "new": "1"})
    assert page.status_code == 200
    assert t("status.new_banner", "ru") in page.text
    assert number in page.text
    public = client.get(f"/api/v1/appeals/track/{number}", params={"lang": "ru"}).json()
    assert public["status_label"] in page.text
    assert t("status.due", "ru") in page.text


def test_file_in_kazakh_and_read_the_status_page_in_kazakh(client: Any) -> None:
    number = _tracking_number(_post_appeal(client, "kk", text=LIGHT_KK, full_name="Жанар"))
    page = client.get(f"/appeals/{number}", params={"lang": "kk", "new": "1"})
    assert page.status_code == 200
    assert '<html lang="kk">' in page.text
    assert t("status.new_banner", "kk") in page.text and number in page.text
    public = client.get(f"/api/v1/appeals/track/{number}", params={"lang": "kk"}).json()
    assert public["status_label"] in page.text
    # The tracking form finds it too, whatever the case the citizen typed.
    found = client.get("/track", params={"number": number.lower()}, follow_redirects=False)
    assert found.status_code == 303
    assert found.headers["location"].startswith(f"/appeals/{number}")


def test_double_post_with_the_same_key_gives_one_appeal(client: Any) -> None:
    page = client.get("/")
    data = {
        "text": WATER,
        "full_name": "Асель",
        "phone": "87017654321",
        "idempotency_key": _hidden(page.text, "idempotency_key"),
        "lang": "ru",
    }
    first = client.post("/appeals", data=data, follow_redirects=False)
    second = client.post("/appeals", data=data, follow_redirects=False)
    assert _tracking_number(first) == _tracking_number(second)
    other = client.post(
        "/appeals", data={**data, "idempotency_key": str(uuid.uuid4())}, follow_redirects=False
    )
    assert _tracking_number(other) != _tracking_number(first)


def test_too_short_text_is_refused_in_kazakh_and_the_input_is_kept(client: Any) -> None:
    response = _post_appeal(client, "kk", text="Жарық жоқ", phone="+7 701 765 43 21")
    assert response.status_code == 422
    message = t("error.text_too_short", "kk", min=get_settings().min_appeal_chars)
    assert message in response.text
    assert "Жарық жоқ</textarea>" in response.text
    assert 'value="+7 701 765 43 21"' in response.text
    assert '<html lang="kk">' in response.text


def test_invalid_phone_says_why(client: Any) -> None:
    response = _post_appeal(client, "ru", phone="12345")
    assert response.status_code == 422
    assert html.escape(t("error.invalid_phone", "ru"), quote=False) in response.text
    assert 'id="f-phone"' in response.text and 'aria-invalid="true"' in response.text
    assert html.escape(WATER, quote=False) in response.text  # the text is not lost
    bad_email = _post_appeal(client, "kk", email="not-an-email")
    assert bad_email.status_code == 422
    assert t("error.invalid_email", "kk") in bad_email.text
    bad_topic = _post_appeal(client, "kk", category_code="no.such-topic")
    assert bad_topic.status_code == 422
    assert html.escape(t("error.unknown_category", "kk"), quote=False) in bad_topic.text


def test_status_page_never_shows_contact_data_or_the_text(client: Any) -> None:
    number = _tracking_number(
        _post_appeal(
            client,
            "ru",
            full_name="Жанар Сейткали",
            phone="+7 701 765 43 21",
            email="zhanar@example.kz",
        )
    )
    for language in LANGUAGES:
        page = client.get(f"/appeals/{number}", params={"lang": language}).text
        for secret in ("Жанар", "Сейткали", "7654321", "765 43 21", "zhanar@", "Жандосова"):
            assert secret not in page, secret


def test_unknown_tracking_number_is_a_404_in_the_citizens_language(client: Any) -> None:
    page = client.get("/appeals/2611-ZZZZZZZZ", params={"lang": "kk"})
    assert page.status_code == 404
    assert t("error.tracking_number_not_found", "kk") in page.text
    assert t("notfound.heading", "kk") in page.text
    form = client.get("/track", params={"number": "nonsense", "lang": "ru"})
    assert form.status_code == 404
    assert t("error.tracking_number_not_found", "ru") in form.text


# --- the staff side ------------------------------------------------------------------------


def test_staff_pages_need_a_session(client: Any) -> None:
    for path in ("/staff", "/staff/appeals", "/staff/appeals/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/staff/login")
    client.cookies.set("civicdesk_session", "forged")
    forged = client.get("/staff/appeals", follow_redirects=False)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/staff/login")
    # A form posted after the session ended comes back to the appeal after sign-in.
    posted = client.post(
        "/staff/appeals/7/actions/accept", data={"csrf": "x"}, follow_redirects=False
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/staff/login?next=/staff/appeals/7"
    # Sign-in never sends anyone off-site.
    page = client.get("/staff/login", params={"next": "//evil.example/staff"})
    assert _hidden(page.text, "next") == "/staff/appeals"


def test_staff_login_sets_a_safe_cookie_and_logout_revokes_it(client: Any, make_user: Any) -> None:
    operator, password = make_user("operator")
    wrong = _sign_in(client, operator, "wrong password")
    assert wrong.status_code == 401 and t("login.bad_credentials", "ru") in wrong.text

    signed_in = _sign_in(client, operator, password)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/staff/appeals"
    cookie = next(
        value
        for value in signed_in.headers.get_list("set-cookie")
        if value.startswith("civicdesk_session=")
    ).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie

    listing = client.get("/staff/appeals")
    assert listing.status_code == 200
    assert operator.full_name in listing.text
    assert "tab=triage" in listing.text  # operators work the triage queue
    assert listing.headers["cache-control"] == "no-store"

    out = client.post(
        "/staff/logout", data={"csrf": _hidden(listing.text, "csrf")}, follow_redirects=False
    )
    assert out.status_code == 303
    # The token is revoked on the server, not only forgotten by the browser.
    client.cookies.set("civicdesk_session", signed_in.cookies["civicdesk_session"])
    after = client.get("/staff/appeals", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/staff/login")


def test_login_form_without_its_token_is_refused(client: Any, make_user: Any) -> None:
    operator, password = make_user("operator")
    response = client.post(
        "/staff/login",
        data={"username": operator.username, "password": password, "login_csrf": "x"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "civicdesk_session" not in response.cookies


def test_executor_sees_only_their_organization(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    admin, _ = make_user("admin")
    executor, password = make_user("executor", SU)
    ours = _place(session, submit_appeal(text=WATER), SU, admin)
    theirs = _place(
        session,
        submit_appeal(text="Во дворе на Самале не чистят снег третий день, сугробы у подъезда"),
        MEDEU,
        admin,
    )
    assert _sign_in(client, executor, password).status_code == 303
    listing = client.get("/staff/appeals", params={"tab": "all"})
    assert listing.status_code == 200
    assert ours.tracking_number in listing.text
    assert theirs.tracking_number not in listing.text
    assert "tab=triage" not in listing.text
    new_tab = client.get("/staff/appeals", params={"tab": "new"})
    assert ours.tracking_number in new_tab.text

    assert client.get(f"/staff/appeals/{theirs.id}").status_code == 404
    page = client.get(f"/staff/appeals/{ours.id}")
    assert page.status_code == 200
    assert "***" in page.text and "7011234567" not in page.text  # the phone is masked
    refused = client.post(
        f"/staff/appeals/{theirs.id}/actions/accept",
        data={"csrf": _hidden(page.text, "csrf")},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    assert _status_of(session, theirs.id) == theirs.status.value


def test_executor_accepts_and_answers_through_the_forms(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    admin, _ = make_user("admin")
    executor, password = make_user("executor", SU)
    appeal = _place(session, submit_appeal(text=WATER), SU, admin)
    _sign_in(client, executor, password)

    page = client.get(f"/staff/appeals/{appeal.id}")
    assert f"/staff/appeals/{appeal.id}/actions/accept" in page.text
    assert "/actions/answer" not in page.text  # not before it is accepted
    assert "/actions/route" not in page.text and "/actions/close" not in page.text
    csrf = _hidden(page.text, "csrf")

    accepted = client.post(
        f"/staff/appeals/{appeal.id}/actions/accept", data={"csrf": csrf}, follow_redirects=False
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/staff/appeals/{appeal.id}?done=accept"
    assert _status_of(session, appeal.id) == "in_progress"
    page = client.get(accepted.headers["location"])
    assert t("done.accept", "ru") in page.text
    assert f"/staff/appeals/{appeal.id}/actions/answer" in page.text

    too_short = client.post(
        f"/staff/appeals/{appeal.id}/actions/answer", data={"csrf": csrf, "text": "Готово"}
    )
    assert too_short.status_code == 422
    assert t("staff_error.answer_too_short", "ru") in too_short.text
    assert "Готово</textarea>" in too_short.text
    assert _status_of(session, appeal.id) == "in_progress"

    answer = "Аварийная бригада заменила участок трубы, водоснабжение восстановлено."
    answered = client.post(
        f"/staff/appeals/{appeal.id}/actions/answer",
        data={"csrf": csrf, "text": answer},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    assert _status_of(session, appeal.id) == "answered"
    page = client.get(answered.headers["location"])
    assert html.escape(answer, quote=False) in page.text
    assert t("done.answer", "ru") in page.text
    # The history says who did it.
    assert executor.full_name in page.text


def test_action_without_a_valid_csrf_token_is_refused(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    admin, _ = make_user("admin")
    executor, password = make_user("executor", SU)
    appeal = _place(session, submit_appeal(text=WATER), SU, admin)
    _sign_in(client, executor, password)
    before = _status_of(session, appeal.id)
    for token in ("", "0" * 64, "подделка"):
        refused = client.post(
            f"/staff/appeals/{appeal.id}/actions/accept",
            data={"csrf": token} if token else {},
            follow_redirects=False,
        )
        assert refused.status_code == 403, token
        assert t("staff_error.csrf", "ru") in refused.text
    assert _status_of(session, appeal.id) == before
    # A token made for another session does not work either.
    other, other_password = make_user("executor", SU)
    _sign_in(client, other, other_password)
    stolen_page = client.get(f"/staff/appeals/{appeal.id}")
    stolen = _hidden(stolen_page.text, "csrf")
    _sign_in(client, executor, password)
    assert (
        client.post(f"/staff/appeals/{appeal.id}/actions/accept", data={"csrf": stolen}).status_code
        == 403
    )


def test_operator_routes_from_the_triage_queue(
    client: Any, session: Any, make_user: Any, submit_appeal: Any
) -> None:
    from routing.service import organization_by_code

    operator, password = make_user("operator")
    appeal = submit_appeal(text="Прошу разобраться с моим вопросом, он давно не решается никем")
    target = MEDEU if appeal.organization_id == organization_by_code(session, SU).id else SU
    _sign_in(client, operator, password)
    page = client.get(f"/staff/appeals/{appeal.id}")
    assert page.status_code == 200
    assert "/actions/accept" not in page.text  # an operator does not work appeals
    if appeal.organization_id is None and appeal.status.value == "registered":
        assert appeal.tracking_number in client.get("/staff/appeals?tab=triage").text
    routed = client.post(
        f"/staff/appeals/{appeal.id}/actions/route",
        data={"csrf": _hidden(page.text, "csrf"), "organization_code": target, "reason": "по теме"},
        follow_redirects=False,
    )
    assert routed.status_code == 303, routed.text
    assert _status_of(session, appeal.id) in {"assigned", "forwarded"}
