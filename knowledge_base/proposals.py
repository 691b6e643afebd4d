"""Proposed articles: appeals answered without any article, clustered for an editor.

Why: the questions the knowledge base cannot answer yet are answered by operators on the
spot and by executors in writing, again and again; a group of such appeals that say the same
thing is an article waiting to be written. Appeals answered (on the spot, or closed with an
answer) with no (question, article) pair are grouped by what they say — e5 and TF-IDF
similarity, agglomerative clustering (average linkage) with a distance cut — and each group
of ``min_size`` or more becomes an open proposal with a few of its texts and answers. An
editor turns it into a draft article or dismisses it; an appeal is proposed once. Phone
numbers are masked in what the proposal keeps.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status
from appeals.models import Appeal, AppealStatusChange
from core.clock import now
from core.errors import Conflict, NotFound
from core.models import StaffUser
from knowledge_base import service
from knowledge_base import text as kbtext
from knowledge_base.encoder import VectorCache, default_encoder, encode_cached
from knowledge_base.models import Pair, Proposal, ProposalStatus
from knowledge_base.retriever import QUESTION_CHARS
from knowledge_base.schemas import ArticleIn

MAX_APPEALS = 3000  # the most recent ones; older questions were proposed before or are stale
# Average distance (1 - similarity) within a group: paraphrases of one question sit at
# 0.4-0.5, neighbouring questions ("справка о несудимости" / "о составе семьи") at 0.55-0.6.
DISTANCE = 0.55
DISTANCE_TFIDF = 0.75  # the same cut with TF-IDF alone (its similarities are lower)
_PHONE = re.compile(r"(?:\+?\d[\s()-]*){10,}")


def _mask(text: str) -> str:
    return _PHONE.sub("***", text).strip()


def _answered_without_article(session: Session, since: datetime) -> list[tuple[int, str, str]]:
    proposed: set[int] = set()
    for ids in session.scalars(select(Proposal.appeal_ids)):
        proposed.update(int(i) for i in ids)
    quick = exists().where(
        AppealStatusChange.appeal_id == Appeal.id,
        AppealStatusChange.to_status == Status.QUICK_ANSWERED,
    )
    rows = session.execute(
        select(Appeal.id, Appeal.text, Appeal.answer_text)
        .where(Appeal.received_at >= since)
        .where(Appeal.answer_text.is_not(None))
        .where(or_(quick, Appeal.status == Status.CLOSED))
        .where(~exists().where(Pair.appeal_id == Appeal.id))
        .order_by(Appeal.id.desc())
        .limit(MAX_APPEALS)
    )
    return [(i, t, a or "") for i, t, a in rows if i not in proposed and t]


def _similarity(texts: list[str]) -> NDArray[np.float32]:
    """Pairwise similarity in [0, 1]: 0.4 × TF-IDF cosine (the knowledge base's terms and
    character n-grams) + 0.6 × e5 cosine rescaled from its working range (0.75–1: e5 puts
    unrelated texts near 0.75), or TF-IDF alone without the model."""
    word = TfidfVectorizer(analyzer=kbtext.terms, sublinear_tf=True).fit_transform(texts)
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), preprocessor=kbtext.folded, sublinear_tf=True
    ).fit_transform(texts)
    vectors = sparse.hstack([word, char]).tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1))).ravel()
    vectors = sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ vectors
    lexical = np.asarray((vectors @ vectors.T).toarray(), dtype=np.float32)
    encoder = default_encoder()
    if encoder is None:
        return lexical
    meaning = encode_cached(encoder, texts, "query", VectorCache(), max_chars=QUESTION_CHARS)
    rescaled = np.clip((meaning @ meaning.T - 0.75) / 0.25, 0.0, 1.0)
    return np.asarray(0.4 * lexical + 0.6 * rescaled, dtype=np.float32)


def _cut() -> float:
    return DISTANCE if default_encoder() is not None else DISTANCE_TFIDF


def propose(
    session: Session, *, since: datetime, min_size: int = 3, distance: float | None = None
) -> list[Proposal]:
    """New open proposals from the appeals answered without an article since ``since``."""
    appeals = _answered_without_article(session, since)
    if len(appeals) < min_size:
        return []
    texts = [text for _, text, _ in appeals]
    similarity = _similarity(texts)
    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="precomputed",
        linkage="average",
        distance_threshold=distance if distance is not None else _cut(),
    ).fit_predict(1.0 - similarity)
    made: list[Proposal] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < min_size:
            continue
        # The most typical text first: the highest mean similarity to the others.
        order = members[np.argsort(-similarity[np.ix_(members, members)].mean(axis=1))]
        proposal = Proposal(
            title=_mask(texts[order[0]])[:300],
            questions=[_mask(texts[i])[:1000] for i in order[:5]],
            answers=list(dict.fromkeys(_mask(appeals[i][2])[:2000] for i in order[:5]))[:3],
            appeal_ids=[appeals[i][0] for i in order],
            size=len(members),
            status=ProposalStatus.OPEN,
            created_at=now(),
        )
        session.add(proposal)
        made.append(proposal)
    session.flush()
    return sorted(made, key=lambda p: -p.size)


def open_proposals(session: Session, limit: int = 20) -> list[Proposal]:
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.status == ProposalStatus.OPEN)
            .order_by(Proposal.size.desc(), Proposal.id.desc())
            .limit(limit)
        )
    )


def _open(session: Session, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("no such proposal", code="kb_proposal_not_found")
    if proposal.status != ProposalStatus.OPEN:
        raise Conflict("the proposal was already handled", code="kb_proposal_handled")
    return proposal


def accept(session: Session, proposal_id: int, *, user: StaffUser) -> Any:
    """A draft article from the proposal (its questions as the body's start, the staff's
    answer as the draft answer); the editor completes and publishes it."""
    service.require_editor(user)
    proposal = _open(session, proposal_id)
    slug = f"proposal-{proposal.id}"
    body = proposal.answers[0] if proposal.answers else proposal.title
    article = service.create_article(
        session,
        data=ArticleIn(
            slug=slug,
            status="draft",
            title_ru=proposal.title[:300] if len(proposal.title) >= 3 else "Новая статья",
            body_ru=body if len(body) >= 3 else "Ответ",
            tags=[],
        ),
        user=user,
        reason=f"from proposal {proposal.id} ({proposal.size} appeals answered without an article)",
    )
    proposal.status = ProposalStatus.ACCEPTED
    proposal.article_id = article.id
    session.flush()
    return article


def dismiss(session: Session, proposal_id: int, *, user: StaffUser) -> None:
    service.require_editor(user)
    _open(session, proposal_id).status = ProposalStatus.DISMISSED
    session.flush()
