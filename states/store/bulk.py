"""Statements on the hot paths with SQLAlchemy's per-call work taken out.

``FastMany`` serves the set-based steps, ``FastOne`` the ~10 statements of every single
transition. Both compile a Core statement once per dialect and hand the driver the same SQL
text inside the caller's transaction; what they skip is SQLAlchemy's per-execution
bookkeeping, not its type processing or its exceptions.

A recruitment shortlist moves 200,000 cases in one transaction. Through ``conn.execute(stmt,
list_of_dicts)`` SQLAlchemy builds every row's parameters itself — name lookups, type
processing — at about 15 µs a row, more than the database spends writing it. Here a
statement is compiled once per dialect, rows arrive as tuples in a fixed column order, type
processing runs only on the columns whose type needs it (timestamps), and the rows go to
the driver's own ``executemany`` through ``exec_driver_sql``: the same SQL text, the same
transaction, a fraction of the Python.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Insert, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any]


class _Compiled:
    __slots__ = ("names", "positional", "processors", "sql")

    def __init__(self, sql: str, names: list[str], positional: bool, processors: list[Any]):
        self.sql = sql
        self.names = names
        self.positional = positional
        self.processors = processors


class FastMany:
    """One INSERT or UPDATE whose rows are tuples in the order of ``columns``.

    ``columns`` are the statement's bind names: column names for an INSERT, the
    ``bindparam`` names for an UPDATE. Compiled lazily per dialect and kept.
    """

    def __init__(self, statement: Insert | Update, columns: Sequence[str]) -> None:
        self.statement = statement
        self.columns = tuple(columns)
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is not None:
            return found
        if isinstance(self.statement, Insert):
            compiled = self.statement.compile(dialect=dialect, column_keys=list(self.columns))
        else:
            compiled = self.statement.compile(dialect=dialect)
        binds = compiled.binds
        missing = set(self.columns) ^ set(binds)
        if missing:
            raise ValueError(f"statement binds and columns differ: {sorted(missing)}")
        order = compiled.positiontup or []
        positional = bool(order)
        names = list(order) if positional else list(self.columns)
        processors = [binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
        found = _Compiled(compiled.string, names, positional, processors)
        self._by_dialect[dialect.name] = found
        return found

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Write ``rows``; returns the driver's row count (matched rows for an UPDATE)."""
        if not rows:
            return 0
        c = self._compiled(conn.dialect)
        width = len(self.columns)
        index = {name: i for i, name in enumerate(self.columns)}
        order = [index[n] for n in c.names]  # driver position -> tuple index
        # A typed column holding one object on every row (the step's "now") is processed
        # once and appended to each row; the driver's tuple is then picked in C.
        extra: list[Any] = []
        varying: list[tuple[int, int, Processor]] = []
        for pos, (i, p) in enumerate(zip(order, c.processors, strict=True)):
            if p is None:
                continue
            first = rows[0][i]
            if all(row[i] is first for row in rows):
                order[pos] = width + len(extra)
                extra.append(None if first is None else p(first))
            else:
                varying.append((pos, i, p))
        pick = itemgetter(*order)
        tail = tuple(extra)
        params: list[Any] = [pick(row + tail) for row in rows]
        for pos, i, p in varying:
            seen: dict[int, Any] = {}
            for n, row in enumerate(rows):
                value = row[i]
                if value is not None:
                    key = id(value)
                    if key not in seen:
                        seen[key] = p(value)
                    values = list(params[n])
                    values[pos] = seen[key]
                    params[n] = tuple(values)
        if not c.positional:
            params = [dict(zip(c.names, values, strict=True)) for values in params]
        result = conn.exec_driver_sql(c.sql, params)
        return int(result.rowcount)


class _OnePlan:
    __slots__ = ("binds", "names", "positional", "results", "row", "sql")

    def __init__(
        self,
        sql: str,
        positional: bool,
        binds: list[tuple[str, Any, Any, bool]],
        row: Any,
        results: list[Any] | None,
    ) -> None:
        self.sql, self.positional, self.binds, self.row, self.results = (
            sql,
            positional,
            binds,
            row,
            results,
        )
        self.names = [b[0] for b in binds]


_UNCHANGING = (dt.datetime, dt.date)


def _remember_last(convert: Processor) -> Processor:
    """A bind conversion that remembers its last timestamp: the ``now`` every statement of a
    transition binds is converted once, not once per statement. Only immutable values are
    remembered (by identity, holding a reference, so the identity cannot be reused); the
    pair is swapped in one assignment, so threads sharing it never see a torn pair."""
    last: list[tuple[Any, Any]] = [(None, None)]

    def remembered(value: Any) -> Any:
        seen, out = last[0]
        if seen is value:
            return out
        out = convert(value)
        if isinstance(value, _UNCHANGING):
            last[0] = (value, out)
        return out

    return remembered


def _row_type(fields: list[str]) -> Any:
    return collections.namedtuple("Row", fields, rename=True)


class FastOne:
    """One statement of every transition, run straight on the driver's cursor.

    SQLAlchemy spends ~25 µs a statement on its execution context, parameter and result
    bookkeeping; the driver itself ~4 µs. A transition issues about ten statements, so on the
    hot path of ``fire`` they go through here: compiled once per dialect (and per set of
    INSERT columns), parameters and results passed through the column types' own
    processors, driver errors raised as SQLAlchemy's (an IntegrityError stays one). Rows
    come back as named tuples with the selected columns' keys.

    Statements with expanding ``IN`` parameters are not taken: their SQL depends on the
    number of values.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _OnePlan] = {}

    def _plan(self, dialect: Dialect, keys: tuple[str, ...]) -> _OnePlan:
        found = self._plans.get((dialect.name, keys))
        if found is not None:
            return found
        if isinstance(self.statement, Insert):
            compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        else:
            compiled = self.statement.compile(dialect=dialect)
        order = compiled.positiontup or []
        positional = bool(order)
        names = list(order) if positional else list(compiled.binds)
        binds = []
        for name in names:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"expanding parameter {name!r}: use conn.execute")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            given = name in keys
            if not given and bind.required:
                raise ValueError(f"parameter {name!r} is required")
            if given:
                binds.append((name, _remember_last(processor) if processor else None, None, True))
            else:  # a literal of the statement (status = 'open'): converted once, here
                const = bind.effective_value
                binds.append((name, None, processor(const) if processor and const is not None
                              else const, False))  # fmt: skip
        row: Any = None
        columns = getattr(self.statement, "selected_columns", None)
        if columns is not None and not isinstance(self.statement, (Insert, Update)):
            row = _row_type([c.key for c in columns])
        # result processors need the driver's type codes: taken from the first execution
        found = _OnePlan(compiled.string, positional, binds, row, None)
        self._plans[(dialect.name, keys)] = found
        return found

    def _execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        dialect = conn.dialect
        plan = self._plan(dialect, tuple(params))
        values = [
            (p(params[n]) if p and params[n] is not None else params[n]) if given else const
            for n, p, const, given in plan.binds
        ]
        args: Any = values if plan.positional else dict(zip(plan.names, values, strict=True))
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, args)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(
                plan.sql, args, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        return plan, cursor

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute an INSERT or UPDATE; returns the driver's row count."""
        _, cursor = self._execute(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        plan, cursor = self._execute(conn, params)
        try:
            raw = cursor.fetchall()
            if plan.results is None:
                dialect = conn.dialect
                plan.results = [
                    c.type.dialect_impl(dialect).result_processor(dialect, d[1])
                    for c, d in zip(
                        self.statement.selected_columns, cursor.description, strict=True
                    )
                ]
        finally:
            cursor.close()
        make, results = plan.row, plan.results
        if not any(results):
            return [make(*r) for r in raw]
        return [make(*[p(v) if p else v for p, v in zip(results, r, strict=True)]) for r in raw]

    def one_or_none(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.all(conn, params)
        if len(rows) > 1:
            raise ValueError("more than one row")
        return rows[0] if rows else None
