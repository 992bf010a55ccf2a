"""The common timeline: each event's time in seconds since the run started, whatever the order
the journal's lines were read in and whatever each writer's wall clock said.

Ordering: within one writer process (writer, pid) events are ordered by their monotonic clock
(then their sequence number). Across writers, by a common timeline: a writer whose wall-minus-
monotonic offset is within ``SHARED_CLOCK_WINDOW`` of the runner's shares the runner's monotonic
clock (same kernel: processes and containers on one host), so it is placed by monotonic time,
which also corrects a skewed or stepped wall clock; any other writer is placed by its own wall
clock. The correction applied to each writer is kept in ``RunHistory.clock_skews``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from itertools import compress, count, islice, repeat
from operator import add, eq, sub

from chaos.history.columns import EventColumns
from chaos.journal import Event

#: Offsets (wall - mono) further apart than this belong to different monotonic clocks
#: (different boots); closer ones are one clock read through skewed wall clocks.
SHARED_CLOCK_WINDOW = 600.0

#: Smaller wall-clock differences between writers are NTP slew and rounding, not worth a word.
REPORTED_SKEW = 0.001

StreamKey = tuple[str, int]


class Timeline:
    """Where each event falls on the common timeline (see the module's docstring)."""

    def __init__(self, columns: EventColumns) -> None:
        streams = list(zip(columns.writers, columns.pids))
        offsets_by_stream: dict[StreamKey, list[float]] = defaultdict(list)
        for stream, offset in zip(streams, map(sub, columns.walls, columns.monos)):
            offsets_by_stream[stream].append(offset)
        own_offset = {k: statistics.median(v) for k, v in offsets_by_stream.items()}
        # The origin: the runner's run.started; in a pytest test's slice of a session journal, the
        # test's own start (``test.started``, written by the ``chaos_journal`` fixture).
        run_started = list(compress(count(), map("run.started".__eq__, columns.kinds))) or list(
            compress(count(), map("test.started".__eq__, columns.kinds))
        )
        first_start: int | None = None
        reference = 0.0
        if run_started:
            first_start = min(
                run_started,
                key=lambda i: (
                    columns.walls[i],
                    columns.writers[i],
                    columns.pids[i],
                    columns.seqs[i],
                ),
            )
            reference = own_offset[streams[first_start]]
        elif own_offset:
            # No runner: the busiest writer process anchors the timeline (deterministic tie-break).
            busiest = max(own_offset, key=lambda k: (len(offsets_by_stream[k]), k))
            reference = own_offset[busiest]
        offsets: dict[StreamKey, float] = {}
        skews: dict[str, float] = {}
        for stream, offset in own_offset.items():
            if abs(offset - reference) <= SHARED_CLOCK_WINDOW:
                offsets[stream] = reference
                skew = offset - reference
                if abs(skew) > abs(skews.get(stream[0], 0.0)):
                    skews[stream[0]] = skew
            else:
                offsets[stream] = offset
        #: Per event, what maps its writer's monotonic time onto the common timeline.
        self.event_offsets = list(map(offsets.__getitem__, streams))
        #: The wall-clock correction applied to each writer, where it is worth a word.
        self.skews = {w: s for w, s in sorted(skews.items()) if abs(s) >= REPORTED_SKEW}
        raw_times = list(map(add, columns.monos, self.event_offsets))
        if first_start is not None:
            self.start = raw_times[first_start]
        else:
            self.start = min(raw_times, default=0.0)
        #: Event indices in timeline order, and each one's seconds since the run started.
        self.order: list[int] = timeline_order(raw_times, columns)
        self.times: list[float] = list(
            map(sub, map(raw_times.__getitem__, self.order), repeat(self.start))
        )


def timeline_order(raw_times: list[float], columns: EventColumns) -> list[int]:
    """Event indices ordered by (time, writer, pid, seq, mono, index).

    Sorting by the time alone, then putting each run of equal times in order, is about three
    times faster than sorting tuples: ties are rare in a real journal (and pairs in a synthetic
    one, where a task's end and its final state share a time)."""
    order = sorted(range(len(raw_times)), key=raw_times.__getitem__)
    in_order = list(map(raw_times.__getitem__, order))
    # Positions whose event has the same time as the next one.
    tied = list(compress(count(), map(eq, in_order, islice(in_order, 1, None))))
    if not tied:
        return order
    writers, pids, seqs, monos = columns.writers, columns.pids, columns.seqs, columns.monos

    def full_key(index: int) -> tuple[str, int, int, float, int]:
        return (writers[index], pids[index], seqs[index], monos[index], index)

    def put_in_order(first: int, last: int) -> None:
        """The run of ties order[first : last + 2]: mostly a pair."""
        if first == last:
            one, other = order[first], order[first + 1]
            if full_key(other) < full_key(one):
                order[first], order[first + 1] = other, one
        else:
            order[first : last + 2] = sorted(order[first : last + 2], key=full_key)

    first = last = tied[0]
    for position in islice(tied, 1, None):
        if position != last + 1:
            put_in_order(first, last)
            first = position
        last = position
    put_in_order(first, last)
    return order


def order_events(events: Iterable[Event]) -> tuple[list[Event], list[float], dict[str, float]]:
    """Events in timeline order, independent of the order they were read in, each with its time
    on the common timeline (seconds since the run started), and the per-writer clock skews."""
    listed = list(events)
    timeline = Timeline(EventColumns.of_events(listed))
    return [listed[i] for i in timeline.order], timeline.times, timeline.skews

