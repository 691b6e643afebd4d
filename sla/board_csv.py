"""The SLA board's CSV export: the drill-down list, every row, without personal data.

Streamed: the scope is checked at once, then the rows come in chunks from a session of
their own (the request's transaction ends before the body is sent).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from core.clock import local
from core.models import StaffUser
from routing.models import Category
from sla.board import (
    BoardAppeal,
    BoardFilters,
    Bucket,
    GroupBy,
    board_appeal,
    bucket_query,
    current_boundaries,
    group_labels,
    scoped,
)

#: The CSV is streamed in chunks of this many rows (all rows: nothing is cut off).
CSV_CHUNK_ROWS: Final = 2000

CSV_HEADER: Final = (
    "tracking_number",
    "bucket",
    "status",
    "category_code",
    "category",
    "organization_code",
    "organization",
    "district_code",
    "district",
    "channel",
    "received_at",
    "due_at",
    "target_due_at",
    "escalated",
    "returns_count",
)


def _iso(moment: datetime | None) -> str:
    return local(moment).isoformat(timespec="minutes") if moment is not None else ""


def export_csv(
    session: Session,
    *,
    user: StaffUser,
    filters: BoardFilters,
    bucket: Bucket | None = None,
    language: str = "ru",
    moment: datetime | None = None,
) -> Iterator[str]:
    """The current filtered list as CSV (Almaty times), every row, without personal data.

    Tracking number, bucket, status, category, organization, district, channel and dates:
    never the citizen's name, phone, address or the appeal's text. The scope is checked
    now (a refusal is raised here, before any row); the rows are then streamed in chunks
    from a session of their own, since the request's transaction ends before the body is
    sent: nothing is held in memory and nothing is cut off.
    """
    filters = scoped(user, filters)
    b = current_boundaries(moment)
    categories = {
        category.code: category.name(language) for category in session.scalars(select(Category))
    }
    organizations = group_labels(session, GroupBy.ORGANIZATION, language)
    districts = group_labels(session, GroupBy.DISTRICT, language)
    query = bucket_query(filters, bucket, b).order_by(Appeal.due_at, Appeal.id)

    def line(appeal: BoardAppeal) -> tuple[object, ...]:
        organization = organizations.get(appeal.organization_id, ("", ""))
        district = districts.get(appeal.district_code, ("", ""))
        return (
            appeal.tracking_number,
            appeal.bucket.value if appeal.bucket else "",
            appeal.status.value,
            appeal.category_code or "",
            categories.get(appeal.category_code or "", ""),
            organization[0],
            organization[1],
            appeal.district_code or "",
            district[1],
            appeal.channel.value,
            _iso(appeal.received_at),
            _iso(appeal.due_at),
            _iso(appeal.target_due_at),
            "1" if appeal.escalated else "0",
            appeal.returns_count,
        )

    def chunks() -> Iterator[str]:
        from core import db

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        with db.session_factory()() as own:
            result = own.execute(query.execution_options(yield_per=CSV_CHUNK_ROWS))
            for rows in result.partitions():
                writer.writerows(line(board_appeal(row, b)) for row in rows)
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        if out.tell():
            yield out.getvalue()

    return chunks()
