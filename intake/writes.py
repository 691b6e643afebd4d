"""The statements of ``submit()``, built once per backend and shape, executed with parameters.

Building an INSERT costs more than running it, so these are built once and hit
SQLAlchemy's compiled cache. On PostgreSQL the citizen upsert, the appeal
insert and its first history row are one statement (data-modifying CTEs): one
round trip for the whole appeal. SQLite runs the same three statements one
after another. Parameters are prefixed (``c_``, ``a_``, ``h_``) so one
dictionary serves both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Table, bindparam, cast, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from appeals.models import Appeal, AppealStatusChange, Citizen
from core.db import dialect_insert, table_of

CitizenKey = Literal["phone", "telegram", "new"]
CITIZEN_COLUMNS = (
    "phone_e164",
    "telegram_user_id",
    "full_name",
    "email",
    "preferred_language",
    "created_at",
)
APPEAL_COLUMNS = (
    "tracking_number",
    "channel",
    "external_id",
    "submitted_by_id",
    "text",
    "language",
    "appeal_type",
    "category_code",
    "district_code",
    "address",
    "latitude",
    "longitude",
    "anonymous",
    "status",
    "received_at",
    "urgency",
    "updated_at",
    "is_repeat",
)
HISTORY_COLUMNS = (
    "from_status",
    "to_status",
    "actor_id",
    "actor_kind",
    "reason",
    "reason_code",
    "reason_params",
    "at",
)


def _param(table: Table, prefix: str, column: str) -> ColumnElement[Any]:
    """A typed parameter, cast: PostgreSQL cannot infer types inside INSERT ... SELECT."""
    column_type = table.c[column].type
    return cast(bindparam(f"{prefix}{column}", type_=column_type), column_type)


def _values(table: Table, prefix: str, columns: tuple[str, ...]) -> dict[str, Any]:
    return {
        column: bindparam(f"{prefix}{column}", type_=table.c[column].type) for column in columns
    }


@lru_cache(maxsize=16)
def citizen_statement(dialect_name: str, key: CitizenKey, with_language: bool) -> Any:
    """Insert the citizen, or find them by phone or Telegram id and fill what was unknown."""
    citizens = table_of(Citizen)
    statement = dialect_insert(dialect_name, citizens).values(
        _values(citizens, "c_", CITIZEN_COLUMNS)
    )
    if key == "new":
        return statement.returning(citizens.c.id)
    keep_known = {
        "full_name": func.coalesce(citizens.c.full_name, statement.excluded.full_name),
        "email": func.coalesce(citizens.c.email, statement.excluded.email),
    }
    if with_language:
        keep_known["preferred_language"] = statement.excluded.preferred_language
    index = citizens.c.phone_e164 if key == "phone" else citizens.c.telegram_user_id
    return statement.on_conflict_do_update(index_elements=[index], set_=keep_known).returning(
        citizens.c.id
    )


@lru_cache(maxsize=4)
def appeal_statement(dialect_name: str) -> Any:
    appeals = table_of(Appeal)
    return (
        dialect_insert(dialect_name, appeals)
        .values(_values(appeals, "a_", (*APPEAL_COLUMNS, "citizen_id")))
        .on_conflict_do_nothing()
        .returning(appeals.c.id)
    )


@lru_cache(maxsize=1)
def history_statement() -> Any:
    changes = table_of(AppealStatusChange)
    return insert(changes).values(_values(changes, "h_", (*HISTORY_COLUMNS, "appeal_id")))


@lru_cache(maxsize=8)
def combined_postgresql(key: CitizenKey | None, with_language: bool) -> Any:
    """Citizen, appeal and first history row in one statement; returns the appeal id
    and the citizen id, or no row when the (channel, external id) already exists."""
    appeals, changes = table_of(Appeal), table_of(AppealStatusChange)
    appeal_values = [_param(appeals, "a_", column) for column in APPEAL_COLUMNS]
    if key is None:
        citizen_id: ColumnElement[Any] = _param(appeals, "a_", "citizen_id")
        source = select(*appeal_values, citizen_id)
    else:
        citizen = citizen_statement("postgresql", key, with_language).cte("citizen")
        citizen_id = citizen.c.id
        source = select(*appeal_values, citizen_id)
    appeal = (
        dialect_insert("postgresql", appeals)
        .from_select([*APPEAL_COLUMNS, "citizen_id"], source)
        .on_conflict_do_nothing()
        .returning(appeals.c.id, appeals.c.citizen_id)
        .cte("appeal")
    )
    history = (
        insert(changes)
        .from_select(
            ["appeal_id", *HISTORY_COLUMNS],
            select(appeal.c.id, *[_param(changes, "h_", column) for column in HISTORY_COLUMNS]),
        )
        .cte("history")
    )
    return select(appeal.c.id, appeal.c.citizen_id).add_cte(history)
