"""The database: declarative Base, engine and session factory, and the per-request session."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from sqlalchemy import (
    DateTime,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    any_,
    bindparam,
    cast,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction
from sqlalchemy.util import await_only

from server.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Execution option that marks a session as a writer: on SQLite it takes the database's
# write turn (this process's writer lock, then BEGIN IMMEDIATE) at its first write, so
# concurrent writers queue instead of failing with "database is locked" when a read lock is
# upgraded, and reads before that first write (signing in, checking a password) hold no turn.
WRITE = "cairn_write"
# Execution option of a read that must be taken under the write turn (see `lock`).
LOCKS = "cairn_locks"
# Session info: the session was opened only to read (`Database.session(write=False)`).
READING = "cairn_reading"
# What SQLite is given instead of a savepoint statement it does not need yet.
NOTHING = "-- savepoint deferred until the first write"


class Choice(StrEnum):
    """Fixed words a column or an event holds, stored and sent as their values (a member is
    equal to its value, so stored rows compare with members as they are)."""

    @classmethod
    def of(cls, value: object) -> Self | None:
        """The member with this value, or None for anything else."""
        try:
            return cls(value) if isinstance(value, str) else None
        except ValueError:
            return None

    @classmethod
    def check(cls, column: str) -> str:
        """A CHECK constraint's condition: the column holds one of these values."""
        return f"{column} IN ({', '.join(repr(m.value) for m in cls)})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        table = cls.__dict__.get("__table__")
        if table is not None:
            # Ids are never handed out twice: without AUTOINCREMENT SQLite gives a deleted
            # row's id to the next row, and whatever still names that id (a hidden mark, a
            # report, an event) would then point at someone else's row. PostgreSQL's
            # sequences never reuse an id anyway.
            table.dialect_options["sqlite"]["autoincrement"] = True


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    engine = create_async_engine(
        url, pool_size=settings.db_pool_size, max_overflow=0, pool_timeout=10,
    )
    _ping_rested(engine)
    return engine


# A connection that was in use a moment ago is alive: pinging it before every checkout, as
# SQLAlchemy's pre-ping does, cost a round trip on every request and socket command. One that
# has rested longer than this is pinged first, so a database restarted while this process was
# quiet fails no request afterwards. A restart under load shows itself to a statement instead,
# which fails as it would have mid-request anyway and replaces every older pooled connection.
PING_AFTER_REST = 1.0  # seconds


def _ping_rested(engine: AsyncEngine) -> None:
    pool, dialect = engine.sync_engine.pool, engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_rested(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")  # a new connection has none: no need
        if returned is None or time.monotonic() - returned < PING_AFTER_REST:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool replaces this connection and every one older, then tries again.
            raise InvalidatePoolError(f"ping after rest failed: {exc!r}") from exc


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # SQLite lets one transaction write at a time. This process's writers queue here, in
    # order, rather than in SQLite's busy handler, which sleeps up to 100 ms between tries
    # and turned a few milliseconds of queueing into a long tail. A writer's session reads
    # without a transaction (each statement sees the latest commit, as PostgreSQL's READ
    # COMMITTED does) until its first write, or first read that asks for a lock (FOR UPDATE,
    # `lock`); there it takes the turn and BEGIN IMMEDIATE, and it gives the turn back when the
    # connection returns to the pool, which a session does as soon as it commits or rolls back.
    writer = asyncio.Lock()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.info["wants_write"] = bool(conn.get_execution_options().get(WRITE))
        if not conn.info["wants_write"]:
            conn.exec_driver_sql("BEGIN")

    @event.listens_for(sync_engine, "before_cursor_execute", retval=True)
    def _take_turn(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                   _many: bool) -> tuple[str, Any]:
        if not conn.info.get("wants_write") or "writer" in conn.info:
            return statement, params
        # A savepoint opened before the first write waits for it, so that a form run in one
        # (server/forms.py) still reads without holding the turn: another transaction it
        # waits for (a password check's own) can take it. Until then there is nothing to undo.
        pending: list[str] = conn.info.setdefault("savepoints", [])
        word, _, rest = statement.strip().partition(" ")
        if word.upper() == "SAVEPOINT":
            pending.append(statement)
            return NOTHING, ()
        if word.upper() in ("RELEASE", "ROLLBACK") and rest.upper().startswith(
                ("SAVEPOINT ", "TO SAVEPOINT ")):
            name = rest.split()[-1]
            opened = [i for i, s in enumerate(pending) if s.split()[-1] == name]
            if opened:
                del pending[opened[-1]:]
                return NOTHING, ()
        if _writes(statement, context):
            await_only(writer.acquire())  # inside SQLAlchemy's greenlet: waits on the event loop
            conn.info["writer"] = writer
            cursor.execute("BEGIN IMMEDIATE")
            for savepoint in pending:
                cursor.execute(savepoint)
            pending.clear()
        return statement, params

    def _release(_dbapi_conn: Any, record: Any, *_: Any) -> None:
        if record is None:
            return
        record.info.pop("wants_write", None)
        record.info.pop("savepoints", None)
        held = record.info.pop("writer", None)
        if held is not None:
            held.release()


    event.listen(sync_engine.pool, "checkin", _release)
    event.listen(sync_engine.pool, "invalidate", _release)


def _shows(statement: str) -> bool:
    return statement.lstrip()[:5].upper() == "SHOW "


def _writes(statement: str, context: Any) -> bool:
    """Whether a statement needs the write turn: anything but a plain read."""
    if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA") and not _shows(statement):
        return True
    if context is None:
        return False
    if context.execution_options.get(LOCKS):
        return True
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


def insert_into(session: AsyncSession, table: Any) -> Any:
    """An INSERT into `table` for the session's database, which knows ON CONFLICT (PostgreSQL
    and SQLite spell it alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# Lists sent as one parameter: a statement that takes a batch's values this way keeps one
# shape (one compiled and prepared statement) whatever the batch's size, and binds one value
# instead of one per item. PostgreSQL takes arrays, SQLite a JSON text.

def in_list(dialect: str, column: Any, name: str) -> Any:
    """`column IN` a list given when the statement is run, as `list_bound(dialect, name, values)`."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(select(literal_column("value", column.type)).select_from(
        func.json_each(bindparam(name, type_=String()))))


def list_bound(dialect: str, name: str, values: list[Any]) -> dict[str, Any]:
    """The parameter of an in_list: the values."""
    return {name: values if dialect == "postgresql" else json.dumps(values)}


def arrays_of(name: str, columns: dict[str, Any], ordinality: str | None = None) -> Any:
    """PostgreSQL: a table `name` with these columns (name: SQL type), each column one array
    parameter named `{name}_{column}` (unnest), given when the statement is run (`rows_bound`).
    `ordinality` names a column of each row's place, from 1."""
    arrays = [bindparam(f"{name}_{column}", type_=postgresql.ARRAY(item))
              for column, item in columns.items()]
    return (func.unnest(*arrays).table_valued(*columns, with_ordinality=ordinality)
            .render_derived(name=name))


def rows_of(dialect: str, name: str, columns: dict[str, Any], ordinality: str | None = None) -> Any:
    """A table `name` with these columns (name: SQL type) for a statement built once to join,
    update or insert from, its rows given when it is run, as `rows_bound(dialect, name, columns,
    rows)`. `ordinality` names a column of each row's place, from 1."""
    if dialect == "postgresql":
        return arrays_of(name, columns, ordinality=ordinality)
    each = func.json_each(bindparam(name, type_=String()))
    place: list[Any] = [(literal_column("key", Integer()) + 1).label(ordinality)] if ordinality else []
    return select(*(cast(func.json_extract(literal_column("value"), f"$[{i}]"), item).label(column)
                    for i, (column, item) in enumerate(columns.items())), *place
                  ).select_from(each).subquery(name)


def rows_bound(dialect: str, name: str, columns: dict[str, Any],
               rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The parameters of a rows_of table: the rows, one array per column on PostgreSQL, one JSON
    text on SQLite."""
    if dialect == "postgresql":
        return {f"{name}_{column}": [row[i] for row in rows] for i, column in enumerate(columns)}
    return {name: json.dumps(rows)}


def insert_rows(dialect: str, table: Any, name: str, columns: dict[str, Any],
                **shared: Any) -> Any:
    """`INSERT INTO table … SELECT` from a rows_of table `name`, in the rows' order, each row
    also given the `shared` columns (name: SQL type, one parameter each), returning the new ids;
    built once. Run it with `inserted_ids`."""
    new = rows_of(dialect, name, columns, ordinality="n")
    return (insert(table).from_select(
        [*columns, *shared],
        select(*(new.c[column] for column in columns),
               *(bindparam(column, type_=item) for column, item in shared.items()))
        .order_by(new.c.n))
        .returning(table.c.id))


async def inserted_ids(session: AsyncSession, statement: Any, params: dict[str, Any]) -> list[int]:
    """Run an `insert_rows` statement; the new ids, in the rows' order. The ids a table gives
    rise in the order its rows go in: on PostgreSQL the sequence gives each row its id as it is
    inserted, and one connection's ids only rise (another process's may come between them, never
    reorder them); on SQLite each row takes the highest id plus one, and writers take turns. So
    the ids returned, sorted, are the rows'."""
    return sorted((await session.execute(statement, params)).scalars())


async def lock(session: AsyncSession, key: str) -> None:
    """Serialise this transaction with every other that locks the same key, until it ends:
    a PostgreSQL advisory lock; on SQLite, the write turn (which serialises all writers)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
                              .execution_options(**{LOCKS: True}), {"key": key})
    else:
        await session.execute(text("SELECT 1").execution_options(**{LOCKS: True}))


# Which life of the database this is. A restore from a backup starts a new one, so a client
# whose last_seq came from after the backup does not skip the events written since the
# restore under the same numbers. PostgreSQL: the cluster, the database and the events
# table's own identity, which every restore (pg_restore creates the tables anew) changes by
# itself. SQLite: the file's user_version, which `cairn backup` and `cairn restore` set anew.
_POSTGRES_EPOCH = ("SELECT (SELECT system_identifier FROM pg_control_system()), "
                   "(SELECT oid FROM pg_database WHERE datname = current_database()), "
                   "to_regclass('events')::oid")


async def epoch(session: AsyncSession) -> str:
    """The database's epoch: 16 hex digits, the same for every process, new after a restore."""
    if session.get_bind().dialect.name == "postgresql":
        row = (await session.execute(text(_POSTGRES_EPOCH))).one()
        seed = "postgresql:" + ":".join(str(v) for v in row)
    else:
        seed = f"sqlite:{await session.scalar(text('PRAGMA user_version'))}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


class Database:
    """The engine, its session factory, and work to run once a transaction commits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                           sync_session_class=CairnSession)
        # What only reads (a page, a socket catching up) needs no transaction of its own on
        # PostgreSQL: without BEGIN and COMMIT, two round trips fewer, and each statement still
        # sees the latest commit, as it does inside a READ COMMITTED transaction.
        self.read_sessions = (
            async_sessionmaker(_only_reading(self.engine), expire_on_commit=False,
                               sync_session_class=CairnSession)
            if self.engine.dialect.name == "postgresql" else self.sessions)
        # Rung after a commit that appended group events (set by the app: the realtime hub).
        self.doorbell: Callable[[int, str, int, Any], Any] | None = None
        # Told after a commit that ended sessions: (user id, their token hashes).
        self.sessions_ended: Callable[[int, list[str]], Any] | None = None
        # The database's epoch (`epoch()`), read once when the app starts: a restore is made
        # with every app process stopped, so it cannot change under a running one.
        self.epoch = ""

    def session(self, *, write: bool = False) -> AsyncSession:
        session = (self.sessions(execution_options={WRITE: True}) if write
                   else self.read_sessions())
        session.info[READING] = not write
        session.info["db"] = self
        return session

    async def dispose(self) -> None:
        await self.engine.dispose()


class WriteWithoutTransaction(RuntimeError):
    """A session opened for reading tried to write or lock: it has no transaction to do it in.
    Open it with write=True (a request that is not GET, HEAD or OPTIONS does)."""


def _only_reading(engine: AsyncEngine) -> AsyncEngine:
    """The engine's pool without transactions, for sessions that only read: anything else
    they try is refused rather than committed statement by statement."""
    reading = engine.execution_options(isolation_level="AUTOCOMMIT")

    @event.listens_for(reading.sync_engine, "before_cursor_execute")
    def _refuse_writes(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
                       _many: bool) -> None:
        if _writes(statement, context):
            raise WriteWithoutTransaction(statement.split(None, 1)[0])

    return reading


class CairnSession(Session):
    """A session whose after-commit work follows its savepoints (see `after_commit`)."""


# Where each open savepoint began in its session's after-commit queue.
_QUEUED = "after_commit"
_MARKS = "savepoint_marks"


@event.listens_for(CairnSession, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, weakref.WeakKeyDictionary())
        marks[transaction] = len(session.info.get(_QUEUED, ()))


@event.listens_for(CairnSession, "after_soft_rollback")
def _forget_queued(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint rolled back takes the work queued inside it along: a form that failed must
    not ring a doorbell for an event that was never written. A whole transaction rolled back
    takes all of it."""
    queued = session.info.get(_QUEUED)
    if not queued:
        return
    if transaction.nested:
        mark = session.info.get(_MARKS, {}).get(transaction)
        if mark is not None:
            del queued[mark:]
    elif transaction.parent is None:
        queued.clear()


def after_commit(session: AsyncSession, callback: Callable[[], Any]) -> None:
    """Run callback once the session's transaction has committed: never on rollback, nor when
    a savepoint (`session.begin_nested()`) it was queued inside rolls back."""
    session.info.setdefault(_QUEUED, []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit, then run what the transaction asked to run after it."""
    await session.commit()
    callbacks = session.info.pop(_QUEUED, [])
    for callback in callbacks:
        result = callback()
        if hasattr(result, "__await__"):
            await result


@asynccontextmanager
async def transaction(db: Database, *, write: bool = True) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request (sockets, jobs): commit on success, roll back on error."""
    async with db.session(write=write) as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await session.rollback()
            session.info.pop(_QUEUED, None)
            raise
