"""The one place that opens database connections and sessions."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Engine,
    Executable,
    Integer,
    Result,
    Select,
    String,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached, sessionmaker

from crm.bulkrows import can_write, python_default
from crm.errors import SettingsError
from crm.heldback import HeldBack, held_back
from crm.settings import Settings
from crm.words import SQLITE_FUNCTION, sqlite_holds_words


class Database:
    """An engine and a session factory built once from the settings."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.effective_database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def new_session(self) -> Session:
        """A bare session for callers that commit in batches themselves."""
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # PostgreSQL's JIT compiler is off for our connections: the planner's cost of a list
    # over 100,000 cases passes jit_above_cost, and compiling took longer than the query.
    # An office's database is read from memory, where a page read at random costs little
    # more than the next one: costed as from disk (4), the planner read all 100,000 cases
    # to join a postcode's 26 people to theirs, 20 ms where looking them up takes 1.
    settings = "-c jit=off -c random_page_cost=1.1"
    options = {"connect_args": {"options": settings}} if url.startswith("postgresql") else {}
    try:
        engine = create_engine(url, pool_pre_ping=True, **options)
    except (ArgumentError, ImportError) as error:
        raise SettingsError(f"MAILBAG_DATABASE_URL: cannot use it ({error})") from None
    # An executemany INSERT goes as one INSERT of many VALUES, as SQLAlchemy already sends
    # it when ids come back: PostgreSQL then runs one statement, and the statement triggers
    # on case_tags (migration 0020) fire once for a new case's tags, not once for each.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys, WAL for a web server beside a worker, our own BEGIN for savepoints,
    and search's word matching (crm.words)."""
    dbapi_connection.isolation_level = None
    dbapi_connection.create_function(SQLITE_FUNCTION, 2, sqlite_holds_words, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def dialect_of(session: Session) -> str:
    """The database's kind, "postgresql" or "sqlite", for what each answers its own way."""
    return session.get_bind().dialect.name


def present(session: Session, column: Any, values: Collection[Any]) -> set[Any]:
    """Which of these values the column holds: one query per few hundred, for a whole batch."""
    found: set[Any] = set()
    for chunk in chunks(values):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def chunks(values: Collection[Any], size: int = 500) -> Iterator[list[Any]]:
    """The distinct values a few hundred at a time: one `IN (...)` each, far below any
    database's limit on bound parameters."""
    wanted = list(set(values))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def plain_rows(
    session: Session, statement: Executable, values: dict[str, Any] | None = None
) -> Result[*tuple[Any, ...]]:
    """A query of plain columns run on the session's connection, past the ORM's
    per-statement work (a list page runs a dozen, threading one per message; through the
    session each cost twice the CPU). Pending changes are flushed first, as the session
    would: a case reopened earlier in the same batch must be seen."""
    session.flush()
    return session.connection().execute(statement, values)


def one_of_ids(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """`column IN ids`; on PostgreSQL one array literal (`= ANY`, see `one_of_listed_ids`)
    rather than an IN list of a bound parameter per id."""
    if dialect_of(session) == "postgresql":
        return column == any_(id_array(ids))
    return column.in_(list(ids))


def one_of_listed_ids(session: Session, column: Any, listed: str) -> ColumnElement[bool]:
    """`one_of_ids` for ids as the database listed them ("3,17,42"). On PostgreSQL the array
    goes as the text of its literal, spelled into the statement: bound as a list, psycopg
    adapted it element by element (1.5 ms for a search's 1,300 ids), and as a literal the
    planner sees the values (how many; hashed when it checks many cases against them)."""
    if not _LISTED_IDS.fullmatch(listed):
        raise ValueError(f"not a list of ids: {listed[:40]!r}")
    if dialect_of(session) == "postgresql":
        return column == any_(_listed_array(listed))
    return column.in_([int(i) for i in listed.split(",")] if listed else [])


def id_array(ids: Collection[int]) -> ColumnElement[Any]:
    """PostgreSQL: these ids as an integer array, spelled into the statement as a literal
    (see `one_of_listed_ids`)."""
    return _listed_array(",".join(map(str, map(int, ids))))


def _listed_array(listed: str) -> ColumnElement[Any]:
    array = bindparam(None, "{" + listed + "}", type_=String, literal_execute=True)
    return cast(array, ARRAY(Integer))


_LISTED_IDS = re.compile(r"(?:[0-9]+(?:,[0-9]+)*)?")


def one_of_ids_given(dialect: str, column: Any, name: str = "ids") -> ColumnElement[bool]:
    """`one_of_ids` for a statement built once: the ids are bound as `name` when it runs."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))


Built = TypeVar("Built", bound=Executable)
AnySelect = Select[*tuple[Any, ...]]  # what a built-once query gives, its columns unchecked


def built_once(build: Callable[[str], Built]) -> Callable[[Session], Built]:
    """A statement built once for each database dialect, its values bound when it runs
    (one the same in every dialect is simply a `functools.cache`d builder).

    Executed again as the same object, SQLAlchemy skips building it, computing its cache
    key and adapting the cached result columns to a new copy: about 0.4 ms of CPU for each
    of the dozen statements a page runs, more than PostgreSQL spends answering most of them.
    """
    cached = functools.cache(build)

    def for_session(session: Session) -> Built:
        return cached(dialect_of(session))

    return for_session


def upsert(session: Session, model: type[Any]) -> Any:
    """An INSERT with ON CONFLICT clauses, in the dialect of the session's database."""
    return upsert_for(dialect_of(session), model)


def upsert_for(dialect: str, model: Any) -> Any:
    """An INSERT with ON CONFLICT clauses for a dialect ("postgresql" or "sqlite")."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def insert_ignore(
    session: Session, model: type[Any], values: dict[str, Any] | list[dict[str, Any]]
) -> None:
    """INSERT that does nothing when a unique key already exists (both databases); a list
    of rows goes in one executemany."""
    if values:
        session.connection().execute(_insert_ignore(dialect_of(session), model.__table__), values)


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Many rows in one executemany, without the ORM's per-object work (no ids come back),
    or held back with the session's others (crm.heldback). On PostgreSQL it goes as one
    INSERT of many VALUES (see `_create_engine`)."""
    if not rows:
        return
    held = held_back(session)
    if held is not None:
        session.connection()  # a savepoint just begun starts now, before its rows
        held.add(model.__table__, rows)
    else:
        session.connection().execute(_insert(model.__table__), rows)


Row = TypeVar("Row")


def new_row(model: type[Row], **values: Any) -> Row:
    """A new, unsaved instance for `insert_loaded`, built without the instrumented
    constructor: that records each attribute's history, a twentieth of a millisecond for a
    message, and insert_loaded throws the history away. Foreign keys as ids, as there."""
    row: Row = _class_manager(inspect(model)).new_instance()
    row.__dict__.update(values)
    return row


@functools.cache
def _class_manager(mapper: Any) -> Any:
    configure_mappers()  # as the usual constructor does first
    return mapper.class_manager


def insert_loaded(session: Session, row: Row) -> Row:
    """Insert one new ORM object with a plain INSERT ... RETURNING and attach it as loaded;
    while the session holds rows back (crm.heldback), its id and defaults are filled in
    here and the row goes with the others.

    The unit of work's flush costs about five plain INSERTs; ingest adds several rows per
    message. Only for objects whose relationships are given as foreign-key ids.
    """
    mapper = inspect(row).mapper
    given = row.__dict__
    layout = _layout(mapper)
    missing = tuple((attr, column) for attr, column in layout if attr not in given)
    held = held_back(session)
    if held is not None and _fills_itself(mapper.local_table):
        session.connection()  # a savepoint just begun starts now, before its rows
        filled = [_filled(mapper.local_table.c[column], held) for _, column in missing]
        given.update(zip((attr for attr, _ in missing), filled, strict=True))
        held.add(mapper.local_table, [{column: given[attr] for attr, column in layout}])
    else:
        values = {column: given[attr] for attr, column in layout if attr in given}
        statement = _insert_returning(mapper.local_table, tuple(column for _, column in missing))
        stored = session.connection().execute(statement, values).one()
        given.update(zip((attr for attr, _ in missing), stored, strict=True))
    # As if loaded: what the database filled in (or would) straight into the instance,
    # history reset.
    make_transient_to_detached(row)
    session.add(row)
    return row


@functools.cache
def _fills_itself(table: Any) -> bool:
    """Whether a held-back row can be completed here: an integer id, no server defaults
    and no defaults given as SQL."""
    ids = [column.name for column in table.primary_key.columns]
    server_side = any(column.server_default for column in table.c)
    return ids == ["id"] and not server_side and can_write(table, ())


def _filled(column: Any, held: HeldBack) -> Any:
    """What the database would have filled in: a new id, the column's default, or NULL."""
    return held.next_id(column.table) if column.primary_key else python_default(column)


@functools.cache
def _layout(mapper: Any) -> tuple[tuple[str, str], ...]:
    """(attribute, column key) for each column of the table, in the table's order."""
    table = mapper.local_table
    return tuple((mapper.get_property_by_column(c).key, c.key) for c in table.c)


@functools.cache
def _insert_returning(table: Any, columns: tuple[str, ...]) -> Any:
    """Returning only the columns the caller left to the defaults (the id at least)."""
    return insert(table).returning(*(table.c[column] for column in columns))


@functools.cache
def _insert(table: Any) -> Any:
    return insert(table)


@functools.cache
def _insert_ignore(dialect: str, table: Any) -> Any:
    """Built once per table: ingest runs these for every message and every attachment."""
    return upsert_for(dialect, table).on_conflict_do_nothing()
