"""Database engine, sessions and the declarative Base shared by every package.

The schema comes only from Alembic migrations (``core/migrations``); ``Base`` is
here so models can be declared, never so tables can be created behind
migrations' back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.errors import ValidationFailed
from core.settings import REPO_ROOT, Settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use core.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class NulCharacter(ValidationFailed):
    """Text with a NUL character: PostgreSQL cannot store it, SQLite would cut it short."""

    code = "nul_character"


def _has_nul(values: Any) -> bool:
    for value in values:
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, (list, tuple)) and _has_nul(value):
            return True
    return False


def _check_parameters(
    _connection: Any,
    _cursor: Any,
    _statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> None:
    """Every string bound for the database, on every engine: refuse a NUL character.

    The one place for it, whatever route, job or bot the value came from: a 422
    ``nul_character`` (a ``DomainError``) instead of psycopg's DataError on PostgreSQL and a
    silently cut string on SQLite.
    """
    # A batched INSERT … VALUES (…), (…) RETURNING ("insertmanyvalues") comes as one flat row
    # (a tuple on SQLite, a dict on PostgreSQL) even when ``executemany`` is set.
    many = executemany and isinstance(parameters, list | tuple) and bool(parameters)
    rows = parameters if many and isinstance(parameters[0], dict | list | tuple) else (parameters,)
    for row in rows:
        values = row.values() if isinstance(row, dict) else row
        if values and _has_nul(values):
            raise NulCharacter(
                "text may not contain the NUL character (\\u0000)", code="nul_character"
            )


event.listen(Engine, "before_cursor_execute", _check_parameters)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files are created under the repository if relative.

    ``hide_parameters``: a database error's message would otherwise carry the bound values
    (appeal texts, phones, names) into every log line and traceback that quotes it.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            path = (REPO_ROOT / relative).resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


_engine: Engine | None = None
_session_factory: sessionmaker[Session] | None = None


def configure(settings: Settings | None = None, *, engine: Engine | None = None) -> Engine:
    """Set the process-wide engine (the app factory, the worker and the tests call this)."""
    global _engine, _session_factory
    settings = settings or get_settings()
    _engine = engine or make_engine(settings.database_url)
    _session_factory = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        return configure()
    return _engine


def session_factory() -> sessionmaker[Session]:
    if _session_factory is None:
        configure()
    assert _session_factory is not None
    return _session_factory


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error.

    Entry points (request dependency, job wrapper, CLI) own the transaction;
    services only flush.
    """
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def str_enum(enum_class: type[Any], length: int = 32) -> SAEnum:
    """A portable enum column that stores the member's value ('in_progress'), not its name."""
    return SAEnum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the backend (PostgreSQL or SQLite)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for the bulk statements of hot paths."""
    return cast(Table, model.__table__)
