"""The bots' quick answers from the knowledge base (issue 15).

A message that asks something (``knowledge_base.text.looks_like_question``) is searched
among the published articles; the best article's answer is sent only when its calibrated
confidence passes the threshold chosen for a precision of 80 % (``Hit.sure``), with
«Помогло» / «Подать обращение». The citizen's choice is stored as a (question, article)
pair: "helped" becomes a paraphrase on the next index build, "file an appeal" files the
kept text and tells the knowledge base the answer did not help.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core import db
from knowledge_base import search
from knowledge_base.models import PairSource
from knowledge_base.service import article_exists, record_pair
from knowledge_base.text import looks_like_question

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuickAnswer:
    text: str
    article_id: int | None = None  # None: an answerer that knows no articles (tests' fakes)


class KnowledgeBaseAnswerer:
    """The default quick answerer of the bots."""

    def answer_in(self, session: Session, text: str, language: str) -> QuickAnswer | None:
        """The sure answer to a question, in the citizen's language, or None."""
        if not looks_like_question(text):
            return None
        hits = search.search(session, text, language=language, k=1)
        if not hits or not hits[0].sure:
            return None
        return QuickAnswer(hits[0].answer, hits[0].article_id)

    def answer(self, text: str, language: str) -> str | None:
        """The plain hook (``channels.conversation.QuickAnswerer``), in a session of its own."""
        with db.transaction() as session:
            found = self.answer_in(session, text, language)
        return found.text if found else None


def remember(
    session: Session,
    *,
    article_id: int,
    question: str,
    language: str,
    helped: bool,
    channel: str,
    appeal_id: int | None = None,
) -> None:
    """Store the citizen's verdict on the answer (an article deleted since is skipped)."""
    if not question.strip() or not article_exists(session, article_id):
        return
    record_pair(
        session,
        article_id=article_id,
        question=question,
        language=language,
        source=PairSource.CITIZEN,
        helped=helped,
        channel=channel,
        appeal_id=appeal_id,
    )
