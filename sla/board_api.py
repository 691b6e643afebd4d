"""JSON API of the SLA board, for the Situation Center and organizations' own systems.

The same filters as the page (organization, district, category, channel, received dates);
the same rules (``sla.board``); bearer tokens only. An executor gets their own
organization and a 403 for another's. No personal data in any answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select

from appeals.lifecycle import Status
from appeals.models import Channel
from core.api_deps import CurrentUser, DbSession
from routing.models import Organization
from sla import board, board_csv
from sla.board import BoardAppeal, BoardFilters, Bucket, GroupBy, SortBy

router = APIRouter(prefix="/api/v1/sla-board", tags=["sla board"])


class CountsOut(BaseModel):
    overdue: int
    due_today: int
    at_risk: int
    on_time: int
    paused: int
    total: int


class GroupOut(BaseModel):
    key: str | None  # organization or district code; null: not yet assigned
    name: str
    counts: CountsOut


class BoundariesOut(BaseModel):
    now: datetime
    tomorrow: datetime
    risk_until: datetime
    risk_working_days: int


class SummaryOut(BaseModel):
    group_by: GroupBy
    rows: list[GroupOut]
    totals: CountsOut
    review_queue: int
    boundaries: BoundariesOut
    no_deadline: int  # open, not yet registered: no deadline, in no bucket
    notice_missed: int  # extended, the citizen not told within 3 working days


class BoardAppealOut(BaseModel):
    id: int
    tracking_number: str
    status: Status
    channel: Channel
    category_code: str | None
    organization_code: str | None
    district_code: str | None
    received_at: datetime
    due_at: datetime | None
    target_due_at: datetime | None
    answered_at: datetime | None
    escalated: bool
    returns_count: int
    bucket: Bucket | None


def filters(
    session: DbSession,
    organization: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=96)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    received_from: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    received_to: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
) -> BoardFilters:
    """The board's filters from the query string; unknown codes and bad dates are a 422."""
    return board.parse_filters(
        session,
        organization=organization,
        district=district,
        category=category,
        channel=channel,
        received_from=received_from,
        received_to=received_to,
    )


Filters = Annotated[BoardFilters, Depends(filters)]


def _counts(counts: board.Counts) -> CountsOut:
    return CountsOut(**counts.as_dict())


def _appeals_out(session: DbSession, rows: list[BoardAppeal]) -> list[BoardAppealOut]:
    ids = {row.organization_id for row in rows if row.organization_id is not None}
    codes: dict[int, str] = {}
    if ids:
        query = select(Organization.id, Organization.code).where(Organization.id.in_(ids))
        codes = {row.id: row.code for row in session.execute(query)}
    return [
        BoardAppealOut(
            id=row.id,
            tracking_number=row.tracking_number,
            status=row.status,
            channel=row.channel,
            category_code=row.category_code,
            organization_code=codes.get(row.organization_id) if row.organization_id else None,
            district_code=row.district_code,
            received_at=row.received_at,
            due_at=row.due_at,
            target_due_at=row.target_due_at,
            answered_at=row.answered_at,
            escalated=row.escalated,
            returns_count=row.returns_count,
            bucket=row.bucket,
        )
        for row in rows
    ]


@router.get("/summary", response_model=SummaryOut)
def summary(
    session: DbSession,
    user: CurrentUser,
    board_filters: Filters,
    group_by: GroupBy = GroupBy.ORGANIZATION,
    sort: SortBy = SortBy.OVERDUE,
    lang: Annotated[str, Query(pattern="^(ru|kk)$")] = "ru",
) -> SummaryOut:
    """Open appeals per bucket per organization (or district), the totals and the review
    queue's length. Buckets: overdue, due_today, at_risk, on_time, paused."""
    result = board.summary(
        session, user=user, filters=board_filters, group_by=group_by, sort=sort, language=lang
    )
    return SummaryOut(
        group_by=result.group_by,
        rows=[
            GroupOut(key=row.key, name=row.name, counts=_counts(row.counts)) for row in result.rows
        ],
        totals=_counts(result.totals),
        review_queue=result.review_queue,
        no_deadline=result.no_deadline,
        notice_missed=result.notice_missed,
        boundaries=BoundariesOut(
            now=result.boundaries.now,
            tomorrow=result.boundaries.tomorrow,
            risk_until=result.boundaries.risk_until,
            risk_working_days=result.boundaries.risk_working_days,
        ),
    )


@router.get("/appeals", response_model=list[BoardAppealOut])
def appeals(
    session: DbSession,
    user: CurrentUser,
    board_filters: Filters,
    response: Response,
    bucket: Bucket | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[BoardAppealOut]:
    """Open appeals in a bucket (all when omitted), the most overdue first; X-Total-Count."""
    rows, total = board.list_appeals(
        session, user=user, filters=board_filters, bucket=bucket, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(total)
    return _appeals_out(session, rows)


@router.get("/appeals.csv", response_class=Response)
def appeals_csv(
    session: DbSession,
    user: CurrentUser,
    board_filters: Filters,
    bucket: Bucket | None = None,
    lang: Annotated[str, Query(pattern="^(ru|kk)$")] = "ru",
) -> Response:
    """The same list as CSV (UTF-8 with BOM for spreadsheets), every row; no personal data."""
    body = board_csv.export_csv(
        session, user=user, filters=board_filters, bucket=bucket, language=lang
    )
    return csv_response(body)


@router.get("/review-queue", response_model=list[BoardAppealOut])
def review_queue(
    session: DbSession,
    user: CurrentUser,
    board_filters: Filters,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[BoardAppealOut]:
    """Answers awaiting an inspector's review (status answered), the oldest first."""
    rows, total = board.review_queue(
        session, user=user, filters=board_filters, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(total)
    return _appeals_out(session, rows)


def csv_response(body: Iterator[str], filename: str = "sla-board.csv") -> Response:
    """The CSV streamed as it is read (UTF-8 with a BOM, so a spreadsheet reads Cyrillic)."""

    def with_bom() -> Iterator[bytes]:
        yield "\ufeff".encode()
        for chunk in body:
            yield chunk.encode()

    return StreamingResponse(
        with_bom(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
