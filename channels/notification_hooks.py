"""What the rooms below ask of the citizens' notifications, through ``core.hooks``.

The deadline sweep and the SLA board (``sla``) flag an extension the citizen was not told
of in time; whether a notice went out is the notifications' own record, kept here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists

from channels.notification_models import DeliveryState, Notification, NotificationKind
from core import hooks


@hooks.provide(hooks.CITIZEN_NOTICE_SENT)
def citizen_notice_sent(
    appeal_id: ColumnElement[int],
    kind: str,
    since: ColumnElement[datetime],
    until: ColumnElement[datetime],
) -> ColumnElement[bool]:
    """A ``kind`` notification about the appeal went out between ``since`` and ``until``."""
    return exists().where(
        Notification.appeal_id == appeal_id,
        Notification.kind == NotificationKind(kind),
        Notification.state == DeliveryState.SENT,
        Notification.sent_at >= since,
        Notification.sent_at <= until,
    )
