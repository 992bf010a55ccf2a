"""The journal as columns: one list per event field, read from the file a block at a time.

The builder reads a field of every event at once (one C-level ``map``), so no object is built per
journal line; at 100,000 events the per-line objects would cost more than the parse itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from chaos.journal import UNSTAMPED, Event, read_journal

try:  # orjson parses a large journal about three times faster; json is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    from json import loads as _loads


#: Bytes of journal parsed in one go when loading (bounds the parser's transient memory).
PARSE_BLOCK_BYTES = 2**20


class EventColumns:
    """The events as one list per field. Reading a field of every event is then one C-level
    ``map`` instead of an attribute lookup per event, and no object is built per journal line:
    at 100,000 events the per-line objects cost more than the parse itself."""

    __slots__ = (
        "cut_lines",
        "datas",
        "kinds",
        "monos",
        "pids",
        "seqs",
        "task_ids",
        "task_names",
        "walls",
        "writers",
    )

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.walls: list[float] = []
        self.monos: list[float] = []
        self.writers: list[str] = []
        self.pids: list[int] = []
        self.seqs: list[int] = []
        self.task_ids: list[str | None] = []
        self.task_names: list[str | None] = []
        self.datas: list[Mapping[str, Any]] = []
        #: Lines holding an event cut short by a short write (see ``read_journal``).
        self.cut_lines: list[int] = []

    def __len__(self) -> int:
        return len(self.kinds)

    @classmethod
    def of_events(cls, events: list[Event]) -> EventColumns:
        columns = cls()
        columns.kinds = list(map(attrgetter("kind"), events))
        columns.walls = list(map(attrgetter("wall"), events))
        columns.monos = list(map(attrgetter("mono"), events))
        columns.writers = list(map(attrgetter("writer"), events))
        columns.pids = list(map(attrgetter("pid"), events))
        columns.seqs = list(map(attrgetter("seq"), events))
        columns.task_ids = list(map(attrgetter("task_id"), events))
        columns.task_names = list(map(attrgetter("task"), events))
        columns.datas = list(map(attrgetter("data"), events))
        return columns

    def extend_records(self, records: list[dict[str, Any]]) -> None:
        """Add parsed journal lines, converted as ``Event.from_dict`` converts them; KeyError,
        TypeError or ValueError for a line that is not an event."""
        self.kinds += map(itemgetter("kind"), records)
        self.walls += map(float, map(itemgetter("wall"), records))
        self.monos += map(float, map(itemgetter("mono"), records))
        self.writers += map(itemgetter("writer"), records)
        self.pids += map(int, map(itemgetter("pid"), records))
        self.seqs += map(int, map(dict.get, records, repeat("seq"), repeat(UNSTAMPED)))
        self.task_ids += map(dict.get, records, repeat("task_id"))
        self.task_names += map(dict.get, records, repeat("task"))
        self.datas += [record.get("data") or {} for record in records]


def read_columns(path: Path) -> tuple[EventColumns, bool]:
    """The journal's events and whether its last line was partial.

    Whole lines are parsed a block at a time, as one JSON array (one parser call per block is
    several times faster than one per line; a block bounds the parser's transient memory). A block
    that does not parse as one event per line sends the whole file to ``read_journal``, line by
    line, whose error names the bad line (or which skips the blank lines it tolerates).
    """
    columns = EventColumns()
    tail = b""
    try:
        with path.open("rb") as handle:
            while block := handle.read(PARSE_BLOCK_BYTES):
                block = tail + block
                cut = block.rfind(b"\n")
                tail = block[cut + 1 :]
                if cut < 0:
                    continue
                lines = block[:cut]
                records = _loads(b"[" + lines.replace(b"\n", b",") + b"]")
                if len(records) != lines.count(b"\n") + 1:
                    raise ValueError("a line holding other than one event")
                columns.extend_records(records)
    except (ValueError, KeyError, TypeError):
        cut_lines: list[int] = []
        columns = EventColumns.of_events(list(read_journal(path, cut_lines=cut_lines)))
        columns.cut_lines = cut_lines
        return columns, tail != b""
    return columns, tail != b""
