"""The knowledge base in the bots: a question it is sure of gets the article's answer with
«Помогло» / «Подать обращение»; "helped" is learned, "file" files the kept text (issue 15)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal, Channel
from channels import conversation
from channels.bot_state import MemoryStateStore
from channels.conversation import Inbound, Outcome, process
from channels.kb_answers import KnowledgeBaseAnswerer
from core.settings import REPO_ROOT
from knowledge_base.models import Pair, PairSource
from knowledge_base.seed import seed_examples


class Chat:
    def __init__(self, channel: Channel = Channel.TELEGRAM) -> None:
        self.store = MemoryStateStore()
        self.channel = channel
        self.address = str(77000000000 + uuid.uuid4().int % 10**9)

    def __call__(self, kind: str, **fields: Any) -> Outcome:
        inbound = Inbound(
            channel=self.channel,
            external_id=f"kb:{uuid.uuid4().hex}",
            address=self.address,
            user_id=self.address,
            kind=kind,  # type: ignore[arg-type]
            **fields,
        )
        return process(inbound, store=self.store)


@pytest.fixture
def kb(session: Session) -> Iterator[None]:
    seed_examples(session, REPO_ROOT / "data")
    session.commit()
    conversation.set_quick_answerer(KnowledgeBaseAnswerer())
    yield
    conversation.set_quick_answerer(conversation.NullQuickAnswerer())


def _texts(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


def _buttons(outcome: Outcome) -> list[tuple[str, str]]:
    return [(b.payload, b.title) for reply in outcome.replies for b in reply.buttons]


@pytest.mark.usefixtures("kb")
def test_a_question_gets_the_answer_and_helped_is_learned(session: Session) -> None:
    say = Chat()
    say("button", payload="lang:ru")
    question = "Подскажите, как встать в очередь в детский сад?"
    answered = say("text", text=question)
    assert "egov.kz" in _texts(answered)
    assert _buttons(answered) == [("kb:helped", "Помогло"), ("kb:file", "Подать обращение")]
    thanks = say("button", payload="kb:helped")
    assert "Рады, что помогли" in _texts(thanks)
    pair = session.scalars(select(Pair)).one()
    assert (pair.question, pair.helped, pair.source, pair.channel) == (
        question,
        True,
        PairSource.CITIZEN,
        "telegram",
    )
    assert session.scalar(select(Appeal.id)) is None  # nothing was filed


@pytest.mark.usefixtures("kb")
def test_didnt_help_files_the_kept_text_in_kazakh(session: Session) -> None:
    say = Chat(Channel.WHATSAPP)
    say("button", payload="lang:kk")
    question = "Балабақшаға кезекке қалай тұруға болады? Екі жыл күтіп жүрміз"
    answered = say("text", text=question)
    assert "egov.kz" in _texts(answered) and "Өтініш беру" in _texts(answered)
    assert _buttons(answered) == [("kb:helped", "Көмектесті"), ("kb:file", "Өтініш беру")]
    filed = say("button", payload="kb:file")
    assert filed.appeal is not None
    appeal = session.get(Appeal, filed.appeal.appeal_id)
    assert appeal is not None and appeal.text == question
    pair = session.scalars(select(Pair)).one()
    assert pair.helped is False and pair.language == "kk"


@pytest.mark.usefixtures("kb")
def test_reports_and_unsure_questions_go_to_filing(session: Session) -> None:
    say = Chat()
    say("button", payload="lang:ru")
    # A report, not a question: kept as the draft to file, no article sent.
    report = say("text", text="Во дворе дома 5 на Толе би третий день не вывозят мусор")
    assert ("draft:send", "Отправить") in _buttons(report)
    assert "kb:helped" not in [p for p, _ in _buttons(report)]
    # A question the knowledge base knows nothing about: no answer sent on its own.
    other = Chat()
    other("button", payload="lang:ru")
    unsure = other("text", text="Когда откроют новый бассейн на Аль-Фараби?")
    assert "kb:helped" not in [p for p, _ in _buttons(unsure)]
    assert session.scalar(select(Pair.id)) is None


def test_the_portal_form_offers_likely_answers_before_filing(client: Any, session: Session) -> None:
    seed_examples(session, REPO_ROOT / "data")
    session.commit()
    page = client.get("/", params={"lang": "kk"})
    assert 'id="kb-likely"' in page.text and "/static/portal_kb.js" in page.text
    assert "Сұрағыңыздың жауабы бар болуы мүмкін" in page.text
    assert client.get("/static/portal_kb.js").status_code == 200
    # What the script asks: the public search, in the page's language.
    hits = client.get(
        "/api/v1/kb/search", params={"q": "онай картасын калай толтырамын", "lang": "kk", "k": 3}
    ).json()["hits"]
    assert hits[0]["slug"] == "onay-card" and "Оңай" in hits[0]["answer"]
