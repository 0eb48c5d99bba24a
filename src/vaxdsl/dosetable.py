"""The good dose rows of a fact folder, spooled to a scratch SQLite file (:class:`DoseTable`)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import weakref
from array import array
from collections.abc import Sequence
from datetime import date
from itertools import chain

from .errors import VaxError
from .records import Dose


class DoseTable(Sequence):
    """The good dose rows, in file order; reads back as :class:`Dose` records.

    At the benchmark size (20 million doses) neither the rows nor a key per row for the duplicate
    check fit comfortably in Python memory, so the rows go, in batches, to a *spool*: a scratch
    SQLite file in ``spool_dir`` (default: the system's temporary folder). There
    :meth:`remove_repeats` finds repeated doses with one GROUP BY (SQLite sorts on disk), and
    :mod:`vaxdsl.factdb` copies the rows into the fact database with one ``INSERT ... SELECT``.
    The file is deleted by :meth:`close`, or when the table is garbage-collected.

    Dose ids are 1, 2, ... in file order; :func:`vaxdsl.factdb.build_database` offsets them when
    it appends to a database that already has doses. Reading by index runs a query per call:
    fine for tests and small folders; iterate for big ones.
    """

    BATCH = 50_000  # rows written at a time: big enough to amortise the call, small in memory
    _COLUMNS = "student_id, date, cvx, mvx, product_name"
    _WIDTH = 6  # values per pending row
    _ROWS_PER_INSERT = 100  # one multi-row INSERT runs a third faster than 100 one-row ones

    def __init__(self, source: str = "", spool_dir=None):
        self.source = source  # file name, kept in the database for provenance
        self.spool_dir = spool_dir
        self.path: str | None = None  # the spool file, made when the first batch is written
        # rows not yet in the spool: (student_id, 'YYYY-MM-DD', cvx, mvx, product_name, line);
        # the reader appends to it directly, and flush() empties it in place
        self.pending: list[tuple] = []
        self._conn: sqlite3.Connection | None = None
        self._count = 0  # rows in the spool
        self._discard = None

    def append(self, student_id: str, ordinal: int, cvx: int, row: int, mvx=None, product_name=None) -> None:
        self.pending.append((student_id, date.fromordinal(ordinal).isoformat(), cvx, mvx, product_name, row))
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows to the spool."""
        if not self.pending:
            return
        conn = self._connection()
        values = list(chain.from_iterable(self.pending))
        size = self._WIDTH * self._ROWS_PER_INSERT
        whole = len(values) - len(values) % size
        try:
            conn.executemany(self._insert_sql(self._ROWS_PER_INSERT), (values[i:i + size] for i in range(0, whole, size)))
            if whole < len(values):
                conn.execute(self._insert_sql((len(values) - whole) // self._WIDTH), values[whole:])
            conn.commit()
        except sqlite3.Error as error:  # a full disk, most likely
            raise self._error(error) from None
        self._count += len(self.pending)
        self.pending.clear()

    @staticmethod
    def _insert_sql(rows: int) -> str:
        return "INSERT INTO doses VALUES " + ", ".join(["(NULL, ?, ?, ?, ?, ?, ?)"] * rows)

    def remove_repeats(self) -> list[tuple[int, int]]:
        """Remove each row that repeats an earlier one (same student, date, code, MVX and product
        name) and return ``(line, line of the first such row)`` for each, in spool order.

        One GROUP BY over the spool finds the repeated keys (an external sort: memory stays flat
        however many rows there are), then one scan of the rows lists the later copies.
        """
        self.flush()
        if self._conn is None:
            return []
        conn = self._conn
        try:
            conn.execute("DROP TABLE IF EXISTS temp.repeated")
            conn.execute(f"CREATE TEMP TABLE repeated AS SELECT {self._COLUMNS}, min(seq) AS first_seq FROM doses"
                         f" GROUP BY {self._COLUMNS} HAVING count(*) > 1")
            if conn.execute("SELECT 1 FROM temp.repeated LIMIT 1").fetchone() is None:
                return []
            conn.execute("CREATE INDEX temp.repeated_key ON repeated(student_id, date, cvx)")
            # CROSS JOIN keeps the spool as the outer loop: one pass over it, a lookup per row in
            # the small table of repeated keys (the other order would scan the spool per key).
            found = conn.execute(
                "SELECT d.seq, d.row, earliest.row FROM doses d"
                " CROSS JOIN temp.repeated r ON r.student_id = d.student_id AND r.date = d.date AND r.cvx = d.cvx"
                "  AND r.mvx IS d.mvx AND r.product_name IS d.product_name AND d.seq > r.first_seq"
                " CROSS JOIN doses earliest ON earliest.seq = r.first_seq"
                " ORDER BY d.seq").fetchall()
            conn.executemany("DELETE FROM doses WHERE seq = ?", ((seq,) for seq, _, _ in found))
            conn.commit()
        except sqlite3.Error as error:
            raise self._error(error) from None
        finally:
            conn.execute("DROP TABLE IF EXISTS temp.repeated")
        self._count -= len(found)
        return [(line, first) for _, line, first in found]

    def spool(self) -> str | None:
        """The spool file with every row written (table ``doses``: ``seq`` in file order, then the
        columns of :data:`pending`), for :mod:`vaxdsl.factdb` to attach; None when there are no rows."""
        self.flush()
        return self.path

    def close(self) -> None:
        """Delete the spool file. The table is empty afterwards."""
        if self._discard is not None:
            self._discard()
        self._conn, self.path, self._count = None, None, 0
        self.pending.clear()

    def __len__(self) -> int:
        return self._count + len(self.pending)

    def __iter__(self):
        self.flush()
        if self._conn is None:
            return
        cursor = self._conn.execute(f"SELECT {self._COLUMNS} FROM doses ORDER BY seq")
        for number, (student_id, when, cvx, mvx, product_name) in enumerate(cursor, 1):
            yield Dose(number, student_id, date.fromisoformat(when), cvx, mvx, product_name)

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._read(start, max(0, stop - start))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._read(index, 1)[0]

    def _read(self, start: int, count: int) -> list[Dose]:
        self.flush()
        if self._conn is None or count == 0:
            return []
        rows = self._conn.execute(f"SELECT {self._COLUMNS} FROM doses ORDER BY seq LIMIT ? OFFSET ?", (count, start))
        return [Dose(start + number, student_id, date.fromisoformat(when), cvx, mvx, product_name)
                for number, (student_id, when, cvx, mvx, product_name) in enumerate(rows, 1)]

    @property
    def rows(self) -> array:
        """The line of each row in its file, in order."""
        self.flush()
        if self._conn is None:
            return array("q")
        return array("q", (line for (line,) in self._conn.execute("SELECT row FROM doses ORDER BY seq")))

    def db_rows(self, first_id: int = 1):
        """Tuples in the column order of the ``doses`` table."""
        self.flush()
        if self._conn is None:
            return
        cursor = self._conn.execute(f"SELECT {self._COLUMNS}, row FROM doses ORDER BY seq")
        for dose_id, row in enumerate(cursor, first_id):
            yield (dose_id, *row[:5], self.source, row[5])

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            handle, path = tempfile.mkstemp(prefix=".vaxdsl-doses-", suffix=".spool", dir=self.spool_dir)
            os.close(handle)
        except OSError as error:
            where = self.spool_dir or tempfile.gettempdir()
            raise VaxError(f"{where}: cannot make a scratch file for the dose rows ({error.strerror or error})") from None
        self.path = path
        conn = None
        try:
            conn = sqlite3.connect(path, check_same_thread=False)
            # Scratch data: nothing to protect from a crash. The GROUP BY's sort spills to a
            # temporary file (temp_store FILE), so its memory is bounded by the 64 MB cache.
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -65536", "temp_store = FILE"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("CREATE TABLE doses (seq INTEGER PRIMARY KEY, student_id TEXT NOT NULL, date TEXT NOT NULL,"
                         " cvx INTEGER NOT NULL, mvx TEXT, product_name TEXT, row INTEGER NOT NULL)")
        except sqlite3.Error as error:
            failure = self._error(error)
            _discard_spool(conn, path)
            self.path = None
            raise failure from None
        self._discard = weakref.finalize(self, _discard_spool, conn, path)
        self._conn = conn
        return conn

    def _error(self, error: Exception) -> VaxError:
        return VaxError(f"{self.path or self.spool_dir or tempfile.gettempdir()}: "
                        f"cannot write the scratch file of dose rows ({error})")


def _discard_spool(conn: sqlite3.Connection | None, path: str) -> None:
    if conn is not None:
        conn.close()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
