"""A run directory's journal read into a RunHistory (what ``chaos check``, reports and the
plugin call)."""

from __future__ import annotations

from pathlib import Path

from chaos.history.builder import build_from_columns, no_cyclic_gc
from chaos.history.columns import read_columns
from chaos.history.model import RunHistory
from chaos.journal import JOURNAL_FILE, journal_write_failures


def journal_path(run_dir_or_journal: Path | str) -> Path:
    path = Path(run_dir_or_journal)
    return path / JOURNAL_FILE if path.is_dir() else path


def load_history(run_dir_or_journal: Path | str) -> RunHistory:
    """Read a run directory's journal (or a journal file) into a RunHistory.

    A last line without its newline (a writer that crashed mid-write) is skipped and flagged in
    ``partial_last_line``; a missing journal is a ConfigError naming the path.
    """
    from chaos.errors import ConfigError, Problem

    path = journal_path(run_dir_or_journal)
    if not path.is_file():
        raise ConfigError(
            [
                Problem(
                    "no journal here",
                    file=path,
                    expected=f"a run directory holding {JOURNAL_FILE} or a journal file",
                )
            ]
        )
    with no_cyclic_gc():
        columns, partial = read_columns(path)
        history = build_from_columns(columns)
    history.partial_last_line = partial
    history.source = path
    history.damage = [f"line {n} holds an event cut short (a write that did not complete)"
                      for n in columns.cut_lines]  # fmt: skip
    history.damage += [f"an append failed ({failure})" for failure in journal_write_failures(path)]
    return history

