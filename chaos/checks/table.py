"""The verdict table for the console, shared by ``chaos check``, ``chaos run`` and the plugin."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from chaos.checks.verdict import Verdict


def verdict_table(verdicts: Sequence[Verdict], title: str | None = None) -> Table:
    """One row per verdict: check, held/FAILED, expected, observed, and the message to act on."""
    held = sum(1 for v in verdicts if v.ok)
    caption = f"{held} of {len(verdicts)} expectations held"
    table = Table(title=title, caption=caption, show_lines=True, expand=True)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("expected", ratio=1)
    table.add_column("observed", ratio=1)
    table.add_column("message", ratio=3, overflow="fold")
    for verdict in verdicts:
        status = Text("held", style="green") if verdict.ok else Text("FAILED", style="bold red")
        message = verdict.message
        if not verdict.ok and verdict.fault_windows:
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
    """Print the verdict table (to stdout unless a console is given)."""
    (console or Console()).print(verdict_table(verdicts, title=title))
