"""The knowledge base's editor pages and proposed articles, as an inspector uses them (issue 15)."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import REPO_ROOT
from knowledge_base import proposals, service
from knowledge_base.models import Article, ArticleStatus, Proposal, ProposalStatus
from knowledge_base.seed import seed_examples
from tests.conftest import hidden_field, staff_sign_in

CERTIFICATE = [
    "Где получить справку о несудимости для работы?",
    "Подскажите, как взять справку о несудимости",
    "нужна справка об отсутствии судимости куда обращаться",
    "Как получить справку о несудимости онлайн на egov?",
]


def _editor(client: Any, session: Session, make_user: Any) -> Any:
    seed_examples(session, REPO_ROOT / "data")
    session.commit()
    inspector, password = make_user("inspector")
    staff_sign_in(client, inspector, password, next_path="/staff/kb")
    return inspector


def test_the_list_marks_examples_and_finds_by_title(
    client: Any, session: Session, make_user: Any
) -> None:
    _editor(client, session, make_user)
    page = client.get("/staff/kb")
    assert page.status_code == 200
    assert "Как встать в очередь в детский сад" in page.text
    assert 'class="badge kb-example"' in page.text and 'href="/staff/kb"' in page.text
    found = client.get("/staff/kb", params={"q": "детский сад"})
    assert "Как встать в очередь в детский сад" in found.text
    assert "Не работает лифт" not in found.text
    kk = client.get("/staff/kb", params={"lang": "kk", "status": "published"})
    assert "Балабақшаға кезекке қалай тұруға болады" in kk.text and "Білім қоры" in kk.text


def test_an_editor_writes_previews_and_publishes(
    client: Any, session: Session, make_user: Any
) -> None:
    inspector = _editor(client, session, make_user)
    new = client.get("/staff/kb/new")
    form = {
        "csrf": hidden_field(new.text, "csrf"),
        "slug": "ospan-certificate",
        "kind": "life_situation",
        "status": "draft",
        "title_ru": "Справка о несудимости",
        "title_kk": "Сотталмағандығы туралы анықтама",
        "body_ru": "Справку выдают бесплатно на egov.kz.",
        "body_kk": "Анықтама egov.kz порталында тегін беріледі.",
        "steps_ru": "Войдите на egov.kz\nЗакажите справку",
        "steps_kk": "egov.kz порталына кіріңіз\nАнықтамага тапсырыс беріңіз",
        "organization": "gov-for-citizens",
        "tags": "справка, анықтама",
        "checked_on": "30.11.2026",  # as the field shows it (дд.мм.гггг)
        "reason": "новая ситуация",
    }
    saved = client.post("/staff/kb/save", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"])
    assert "Сохранено: версия 1." in page.text
    assert 'name="checked_on" type="text"' in page.text and 'value="30.11.2026"' in page.text
    assert "1. Войдите на egov.kz" in html.unescape(page.text)  # the preview as sent
    assert "1. egov.kz порталына кіріңіз" in html.unescape(page.text)
    article = service.by_slug(session, "ospan-certificate")
    assert article is not None and article.status == ArticleStatus.DRAFT
    publish = client.post(
        f"/staff/kb/{article.id}/status",
        data={"csrf": form["csrf"], "status": "published", "reason": "проверено"},
        follow_redirects=False,
    )
    assert publish.status_code == 303
    session.expire_all()
    article = session.get(Article, article.id)
    assert article is not None and article.status == ArticleStatus.PUBLISHED
    versions = service.versions(session, article)
    assert [(v.version, v.edited_by) for v in versions] == [
        (2, inspector.username),
        (1, inspector.username),
    ]
    # A bad slug is refused with a reason, and nothing typed is lost.
    bad = client.post("/staff/kb/save", data={**form, "slug": "Плохой код"})
    assert bad.status_code == 422
    assert "Не сохранено" in bad.text and "Справка о несудимости" in bad.text


def test_operators_and_executors_cannot_edit(client: Any, make_user: Any) -> None:
    operator, password = make_user("operator")
    staff_sign_in(client, operator, password, next_path="/staff/console")
    refused = client.get("/staff/kb")
    assert refused.status_code == 403
    assert "администраторы и инспекторы" in refused.text


def test_appeals_answered_without_an_article_become_a_proposal(
    client: Any, session: Session, make_user: Any, submit_appeal: Any
) -> None:
    from appeals import actions

    inspector = _editor(client, session, make_user)
    operator, _ = make_user("operator")
    answer = "Справку о несудимости выдают на egov.kz или в ЦОН, бесплатно."
    for n, text in enumerate([*CERTIFICATE, "Во дворе дома 7 сломаны качели"]):
        appeal = submit_appeal(text=text)
        if n < len(CERTIFICATE):
            actions.quick_answer(session, appeal, user=operator, text=answer)
    session.commit()
    since = datetime.now(UTC) - timedelta(days=1)
    made = proposals.propose(session, since=since)
    session.commit()
    assert [p.size for p in made] == [4]
    assert made[0].answers == [answer]
    assert proposals.propose(session, since=since) == []  # an appeal is proposed once
    page = client.get("/staff/kb")
    assert "обращений: 4" in page.text
    accepted = client.post(
        f"/staff/kb/proposals/{made[0].id}",
        data={"csrf": hidden_field(page.text, "csrf"), "decision": "accept"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    session.expire_all()
    proposal = session.get(Proposal, made[0].id)
    assert proposal is not None and proposal.status == ProposalStatus.ACCEPTED
    draft = session.scalars(select(Article).where(Article.id == proposal.article_id)).one()
    assert draft.status == ArticleStatus.DRAFT and draft.body_ru == answer
    assert service.versions(session, draft)[0].edited_by == inspector.username
