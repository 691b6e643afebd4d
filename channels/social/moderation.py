"""The moderation queue: comments the classifier doubted, decided by operators.

Three decisions, as on the operators' buttons: «Это обращение» (``appeal``: submitted as an
appeal, the receipt goes under the comment), «Не обращение» (``not_appeal``) and «Ответить
без обращения» (``answer``: the operator's text goes under the comment, no appeal). An
operator may also overrule the model on a comment it did not doubt (a "not an appeal" that
is one). Every decision stays on the comment (who, when) and is training data
(``decisions_as_examples``): label 1 for an appeal, 0 otherwise.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.social import service
from channels.social.classifier import Example
from channels.social.models import CommentState, ReplyKind, SocialComment, SocialPost
from core import jobs
from core.clock import now
from core.errors import Conflict, NotFound, ValidationFailed
from core.models import StaffUser
from core.settings import get_settings

Decision = Literal["appeal", "not_appeal", "answer"]
MAX_REPLY_CHARS = 1000


def decide(
    session: Session,
    *,
    comment_id: int,
    decision: Decision,
    by: StaffUser,
    reply_text: str | None = None,
) -> SocialComment:
    """Record an operator's decision and do what it means."""
    row = session.get(SocialComment, comment_id, with_for_update=True)
    if row is None:
        raise NotFound(f"comment {comment_id} not found", code="comment_not_found")
    if row.appeal_id is not None:
        raise Conflict("this comment is already an appeal", code="already_an_appeal")
    if row.deleted_at is not None and decision != "not_appeal":
        raise Conflict("the author deleted this comment", code="comment_deleted")
    replies: list[int] = []
    if decision == "appeal":
        tracking = service.register_appeal(
            session, row, settings=get_settings(), batch_replies=replies
        )
        if tracking is None:
            raise ValidationFailed(
                "the comment is too short to be an appeal", code="text_too_short"
            )
    elif decision == "not_appeal":
        row.state = CommentState.NOT_APPEAL
    elif decision == "answer":
        text = (reply_text or "").strip()
        if not text or len(text) > MAX_REPLY_CHARS:
            raise ValidationFailed(
                f"the answer needs 1 to {MAX_REPLY_CHARS} characters", code="invalid_reply"
            )
        row.state = CommentState.ANSWERED
        replies.append(
            service.queue_reply(session, row, ReplyKind.OPERATOR, text, created_by_id=by.id)
        )
    else:
        raise ValidationFailed(f"unknown decision {decision!r}", code="invalid_decision")
    row.decided_by_id = by.id
    row.decided_at = now()
    if replies:
        jobs.defer(session, service.SEND_JOB, replies)
    session.flush()
    return row


def decisions_as_examples(session: Session) -> list[Example]:
    """The operators' decisions as labelled comments (with their posts) for training."""
    rows = session.execute(
        select(SocialComment.text, SocialComment.state, SocialPost.text)
        .join(SocialPost, SocialPost.id == SocialComment.post_id)
        .where(SocialComment.decided_by_id.is_not(None))
        .order_by(SocialComment.id)
    ).all()
    return [
        Example(text=text, context=post or "", label=1 if state is CommentState.APPEAL else 0)
        for text, state, post in rows
    ]
