"""The verdict table for the console, shared by ``chaos check``, ``chaos run`` and the plugin.

Cells wrap and long words fold: a verdict is never cut short with an ellipsis, whatever the
width, because the observed value and the message are what a reader acts on.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chaos.checks.verdict import Verdict

#: Columns of a console whose output goes to a pipe or a file: rich would assume 80, which
#: squeezes five columns into slivers; wrapped cells still keep every character below that.
PIPED_WIDTH = 160


class OutputConsole(Console):
    """rich's console, except that a closed pipe raises ``BrokenPipeError`` for the ``chaos``
    entry point to end quietly with 141 (rich itself would exit 1, which reads as "an
    expectation failed")."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")


def output_console(file: TextIO | None = None) -> Console:
    """A console for ``file`` (stdout by default): a terminal's own width; when piped or
    redirected, ``PIPED_WIDTH`` columns (or ``COLUMNS`` if that asks for more)."""
    stream = file or sys.stdout
    if stream.isatty():
        return OutputConsole(file=file)
    try:
        asked = int(os.environ.get("COLUMNS") or 0)
    except ValueError:
        asked = 0
    return OutputConsole(file=file, width=max(PIPED_WIDTH, asked))


#: How the table colours each verdict status.
STATUS_STYLES = {
    "held": "green",
    "FAILED": "bold red",
    "KNOWN BROKEN": "bold yellow",
    "not exercised": "bold yellow",
}


def verdict_table(verdicts: Sequence[Verdict], title: str | None = None) -> Table:
    """One row per verdict: check, held/FAILED, expected, observed, and the message to act on."""
    known = sum(1 for v in verdicts if v.status == "KNOWN BROKEN")
    held = sum(1 for v in verdicts if v.ok) - known
    caption = f"{held} of {len(verdicts)} expectations held"
    if known:
        caption += f", {known} known broken (as the scenario says)"
    table = Table(title=title, caption=caption, show_lines=True, expand=True)
    longest_name = max((len(v.name) for v in verdicts), default=5)
    table.add_column("check", style="bold", min_width=min(longest_name, 24), overflow="fold")
    table.add_column("verdict", min_width=6, overflow="fold")
    table.add_column("expected", ratio=1, min_width=10, overflow="fold")
    table.add_column("observed", ratio=1, min_width=10, overflow="fold")
    table.add_column("message", ratio=3, min_width=16, overflow="fold")
    for verdict in verdicts:
        status = Text(verdict.status, style=STATUS_STYLES.get(verdict.status, "bold red"))
        message = verdict.message
        if verdict.status == "KNOWN BROKEN":
            message += f"\nknown broken: {verdict.known_broken}"
        if verdict.status != "held" and verdict.fault_windows:
            around = "; ".join(w.describe() for w in verdict.fault_windows[:3])
            message += f"\nfaults around it: {around}"
        # Text, not markup: task labels such as "send_invoice_email[order=17]" look like tags.
        table.add_row(
            Text(verdict.name),
            status,
            Text(verdict.expected),
            Text(verdict.observed),
            Text(message),
        )
    return table


def render_verdicts(
    verdicts: Sequence[Verdict], console: Console | None = None, title: str | None = None
) -> None:
    """Print the verdict table (to stdout unless a console is given), wide when piped."""
    (console or output_console()).print(verdict_table(verdicts, title=title))
