"""The knowledge base in the operator console: suggestions as the operator types, the answer
inserted and "answered on the spot" recording the article, the share in the header (issue 15)."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import REPO_ROOT
from knowledge_base import search, service
from knowledge_base.models import Pair, PairSource
from knowledge_base.seed import seed_examples
from knowledge_base.share import quick_answer_share
from tests.conftest import hidden_field, staff_sign_in

MIDDAY = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # 12:00 in Almaty


def _console(client: Any, session: Session, make_user: Any) -> tuple[Any, str]:
    seed_examples(session, REPO_ROOT / "data")
    session.commit()
    operator, password = make_user("operator")
    staff_sign_in(client, operator, password, next_path="/staff/console")
    return operator, client.get("/staff/console").text


def test_the_box_suggests_articles_as_the_operator_types(
    client: Any, session: Session, make_user: Any
) -> None:
    _, page = _console(client, session, make_user)
    assert 'id="kb-q"' in page and 'name="kb_article"' in page and "console_kb.js" in page
    ru = client.get("/staff/console/kb", params={"q": "в подъезде пахнет газом"})
    assert ru.status_code == 200
    first = ru.text.split('data-kb-article="')[1].split('"')[0]
    gas = service.by_slug(session, "gas-smell-emergency")
    assert gas is not None and first == str(gas.id)
    assert "Вставить ответ" in ru.text and "104" in ru.text
    assert any(
        words in ru.text for words in ("точно подходит", "вероятно подходит", "может подойти")
    )
    # The page's language gives the answers' language; Kazakh typed on a Russian keyboard.
    kk = client.get("/staff/console/kb", params={"q": "газ иси шыгып тур", "lang": "kk"})
    assert 'data-kb-article="' + str(gas.id) + '"' in kk.text.split("</li>")[0]
    assert "Газ иісі — апат" in html.unescape(kk.text) and "Жауапты қою" in kk.text
    empty = client.get("/staff/console/kb", params={"q": ""})
    assert "data-kb-article" not in empty.text


def test_executors_get_no_suggestions(client: Any, session: Session, make_user: Any) -> None:
    executor, password = make_user("executor", "almaty-su")
    staff_sign_in(client, executor, password, next_path="/staff")
    assert client.get("/staff/console/kb", params={"q": "газ"}).status_code == 403


def test_answered_on_the_spot_records_the_article_and_teaches_the_index(
    client: Any, session: Session, make_user: Any
) -> None:
    operator, page = _console(client, session, make_user)
    onay = service.by_slug(session, "onay-card")
    assert onay is not None
    question = "Бабушке не выдают проездной со скидкой, куда ей идти?"
    answer = search.answer_text(onay, "ru")
    form = {name: hidden_field(page, name) for name in ("csrf", "call", "seq", "key")}
    form.update(intent="quick", text=question, answer=answer, kb_article=str(onay.id))
    done = client.post("/staff/console/appeals", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    session.expire_all()
    pair = session.scalars(select(Pair).where(Pair.article_id == onay.id)).one()
    assert (pair.question, pair.source, pair.operator_id) == (
        question,
        PairSource.OPERATOR,
        operator.id,
    )
    assert pair.appeal_id is not None
    # The next index build knows the caller's wording.
    assert search.search(session, "бабушке не выдают проездной со скидкой", k=1)[0].slug == (
        "onay-card"
    )
    # The share counts it, and that it came from an article.
    start = datetime.now(UTC) - timedelta(days=1)
    (row,) = quick_answer_share(session, start=start, stop=start + timedelta(days=2))
    assert (row["appeals"], row["quick_answered"], row["with_article"]) == (1, 1, 1)
    assert row["share"] == 100.0
    by_operator = quick_answer_share(
        session, start=start, stop=start + timedelta(days=2), by="operator"
    )
    assert [r["key"] for r in by_operator] == [str(operator.id)]


def test_the_header_shows_todays_share(
    client: Any, session: Session, make_user: Any, submit_appeal: Any
) -> None:
    from appeals import actions
    from core.clock import frozen

    _console(client, session, make_user)
    admin, _ = make_user("admin")
    with frozen(MIDDAY):
        answered = submit_appeal(text="Подскажите часы работы ЦОН в Алмалинском районе")
        submit_appeal()  # one more, filed and not answered on the spot
        actions.quick_answer(session, answered, user=admin, text="ЦОН работает с 9 до 18")
        session.commit()
        body = client.get("/staff/console/metrics").json()
    cells = {cell["name"]: cell for cell in body["cells"]}
    assert cells["quick_share"]["text"] == "50.0%"
    assert cells["quick_share"]["label"] == "Ответ на месте сегодня"
