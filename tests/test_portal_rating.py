"""Rating the answer on the portal's status page (issue 14, item 6).

Filed from this browser → a signed citizen token in an HttpOnly cookie → the status page
offers 1–5 and a comment once the answer is there; another browser with the number reads
the answer but may not rate; the rating can be changed for a day, then it stands; a low
one reopens the appeal and the page says so. Russian and Kazakh.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals import actions
from appeals.lifecycle import Status
from appeals.models import Appeal
from civicdesk.web.portal.rating import CHANGE_WINDOW, CITIZEN_COOKIE
from core.clock import frozen, now
from core.models import Role
from ratings import answers

pytestmark = pytest.mark.postgres

TEXT = "Во дворе дома на Самале третий день не вывозят мусор, контейнеры переполнены"
ANSWER = "Мусор вывезен, график вывоза во дворе восстановлен, контейнеры промыты."


def _file(client: TestClient, language: str = "ru") -> str:
    response = client.post(
        "/appeals",
        data={
            "text": TEXT,
            "full_name": "Асель Нурланова",
            "phone": "+7 701 555 01 77",
            "idempotency_key": str(uuid.uuid4()),
            "lang": language,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert CITIZEN_COOKIE in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()
    match = re.search(r"/appeals/([0-9A-Z-]+)\?", response.headers["location"])
    assert match
    return match[1]


def _answer(session: Session, number: str, make_user: Any) -> Appeal:
    appeal = session.scalar(select(Appeal).where(Appeal.tracking_number == number))
    assert appeal is not None
    admin, _ = make_user(Role.ADMIN)
    actions.quick_answer(session, appeal, user=admin, text=ANSWER)
    session.commit()
    return appeal


@pytest.mark.parametrize(
    ("language", "heading", "thanks"),
    [("ru", "Оцените ответ", "Спасибо за оценку!"), ("kk", "Жауапты бағалаңыз", "рақмет")],
)
def test_the_filer_rates_on_the_status_page_and_may_change_it_for_a_day(
    client: TestClient,
    session: Session,
    make_user: Any,
    language: str,
    heading: str,
    thanks: str,
) -> None:
    number = _file(client, language)
    before = client.get(f"/appeals/{number}", params={"lang": language}).text
    assert 'class="rate-form"' not in before  # nothing to rate before the answer
    appeal = _answer(session, number, make_user)
    page = client.get(f"/appeals/{number}", params={"lang": language}).text
    assert heading in page and 'class="rate-form"' in page
    rated = client.post(
        f"/appeals/{number}/rating",
        data={"score": "4", "comment": "Быстро, спасибо", "lang": language},
        follow_redirects=False,
    )
    assert rated.status_code == 303, rated.text
    page = client.get(rated.headers["location"]).text
    assert thanks in page and 'class="rate-form"' in page  # still changeable today
    rating = answers.rating_for(session, appeal_id=appeal.id)
    assert rating is not None and (rating.score, rating.channel) == (4, "portal")
    changed = client.post(
        f"/appeals/{number}/rating", data={"score": "5", "lang": language}, follow_redirects=False
    )
    assert changed.status_code == 303
    session.expire_all()
    rating = answers.rating_for(session, appeal_id=appeal.id)
    assert rating is not None and (rating.score, rating.changes) == (5, 1)
    with frozen(now() + CHANGE_WINDOW + timedelta(minutes=1)):
        later = client.get(f"/appeals/{number}", params={"lang": language}).text
        assert 'class="rate-form"' not in later
        refused = client.post(f"/appeals/{number}/rating", data={"score": "1", "lang": language})
        assert refused.status_code == 409
        assert ("изменить её больше нельзя" if language == "ru" else "енді өзгертуге") in (
            refused.text
        )


def test_only_the_filer_may_rate(client: TestClient, session: Session, make_user: Any) -> None:
    number = _file(client)
    _answer(session, number, make_user)
    client.cookies.clear()  # another browser, with the number only
    page = client.get(f"/appeals/{number}", params={"lang": "kk"}).text
    assert ANSWER in page and 'id="rate-only-filer"' in page and 'class="rate-form"' not in page
    refused = client.post(f"/appeals/{number}/rating", data={"score": "5", "lang": "kk"})
    assert refused.status_code == 401 and "Жауапты тек өтініш беруші бағалай алады" in refused.text
    client.cookies.set(CITIZEN_COOKIE, "v1.forged.token")
    assert client.post(f"/appeals/{number}/rating", data={"score": "5"}).status_code in (401, 403)


def test_bad_input_is_a_reason_not_a_500(
    client: TestClient, session: Session, make_user: Any
) -> None:
    number = _file(client)
    early = client.post(f"/appeals/{number}/rating", data={"score": "5", "lang": "ru"})
    assert early.status_code == 409 and "Ответа пока нет" in early.text
    _answer(session, number, make_user)
    for score in ("", "0", "6", "пять", "99999999999"):
        bad = client.post(f"/appeals/{number}/rating", data={"score": score, "lang": "ru"})
        assert bad.status_code == 422 and "Выберите оценку от 1 до 5." in bad.text, score
    long = client.post(
        f"/appeals/{number}/rating", data={"score": "3", "comment": "x" * 4001, "lang": "ru"}
    )
    assert long.status_code == 422
    assert client.post("/appeals/2611-ZZZZZZZZ/rating", data={"score": "3"}).status_code == 404


def test_a_low_rating_reopens_and_the_page_says_so(
    client: TestClient, session: Session, make_user: Any
) -> None:
    number = _file(client, "kk")
    appeal = _answer(session, number, make_user)
    rated = client.post(
        f"/appeals/{number}/rating",
        data={"score": "1", "comment": "Мусор снова не вывезли", "lang": "kk"},
        follow_redirects=False,
    )
    assert rated.status_code == 303
    page = client.get(rated.headers["location"]).text
    assert "Өтініш қайта қарауға жіберілді" in page
    assert 'class="rate-form"' not in page  # the answer is withdrawn until the next one
    session.expire_all()
    assert session.get(Appeal, appeal.id).status is Status.REOPENED  # type: ignore[union-attr]
