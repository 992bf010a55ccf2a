"""Where a generated scenario says the app lives (``app.workdir``).

A relative ``workdir`` resolves against the scenario file's folder: it keeps a library portable
(a clone elsewhere still finds the app) as long as the library and the app move together, that is
when the library is inside the project or in the same git repository. Anywhere else (``--out
/tmp/starter`` for a project under /home) a relative path climbs out of the library and breaks
as soon as either moves, so the project's absolute path is written instead.
"""

from __future__ import annotations

import os
from pathlib import Path


def repository_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git`` (a folder, or a worktree's file);
    None outside any repository. ``path`` need not exist yet."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def workdir_for(project: Path, out: Path) -> str:
    """``app.workdir`` for scenarios written into ``out`` about the app in ``project``."""
    project, out = project.resolve(), out.resolve()
    repository = repository_root(project)
    together = out.is_relative_to(project) or (
        repository is not None and repository_root(out) == repository
    )
    return os.path.relpath(project, out) if together else str(project)
