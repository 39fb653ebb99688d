"""Reads on the hot path, compiled by the ORM once per process instead of once per call.

Turning a QuerySet into SQL costs more than running the SQL: on the benchmark machine about 1.5 ms of Python
for a join with an ORDER BY, against 0.3 ms for the round trip (docs/BENCHMARKS.md, "Lots"). A read that runs
under a hot stock row's lock with only one value changing (the row's id) is built by the ORM once, with a
marker in place of that value, and afterwards executed as SQL. Its values come back converted as the ORM
would convert them (`SQLCompiler.get_converters`: on SQLite, dates and aware datetimes; on PostgreSQL the
driver already returns them).

The QuerySet is still the one definition of the read (its filters, joins and order); only the compiling is
cached. Use it sparingly: for the few reads every stock operation of some kind runs.
"""

from collections.abc import Callable

from django.db import connections
from django.db.models import QuerySet

# Stands in for the one value while the ORM compiles; a real id never has this value.
MARKER = -7_364_019_552_811


class CompiledRead:
    """`build(marker)` returns a `values_list` QuerySet whose only parameter is `marker`; `rows(value)` runs
    it for `value` and returns its rows (tuples, in the `values_list` order)."""

    def __init__(self, build: Callable[[int], QuerySet]):
        self._build = build
        self._compiled: dict[str, tuple[str, list, bool]] = {}

    def _compile(self, alias: str) -> tuple[str, list, bool]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            queryset = self._build(MARKER).using(alias)
            compiler = queryset.query.get_compiler(alias)
            sql, params = compiler.as_sql()
            if list(params) != [MARKER]:
                raise ValueError(f"a compiled read takes exactly one parameter, not {params!r}")
            columns = [expression for expression, _, _ in compiler.select]
            compiled = self._compiled[alias] = (sql, columns, bool(compiler.get_converters(columns)))
        return compiled

    def rows(self, value: int, *, using: str) -> list[tuple]:
        sql, columns, convert = self._compile(using)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, [value])
            rows = cursor.fetchall()
        if convert and rows:
            converters = connection.ops.get_db_converters
            steps = [(index, converters(column) + column.get_db_converters(connection), column)
                     for index, column in enumerate(columns)]
            steps = [(index, functions, column) for index, functions, column in steps if functions]
            converted = []
            for row in rows:
                row = list(row)
                for index, functions, column in steps:
                    for function in functions:
                        row[index] = function(row[index], column, connection)
                converted.append(tuple(row))
            rows = converted
        return rows
