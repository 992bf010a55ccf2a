"""``chaos init PROJECT_DIR``: a starter library from the project's own task declarations.

Reads the project without importing it (``chaos.starter.reading``): the Celery app, the settings
from manage.py, every task with its declared policy; writes three scenarios or more per
task with that policy pinned (``chaos.starter.writing``), then says what it could not infer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chaos.errors import ConfigError, Problem

EXAMPLE = """example:
  chaos init tests/otherapp --out tests/otherapp/starter \\
      --args billing.charge_invoice=[1] --setup "python manage.py seed_customers --count 3"

Exit codes: 0 written (the files validate), 2 bad input (no Celery app or tasks found, a bad
--args/--env), 1 a written file does not validate (a bug to report)."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init",
        help="write a starter library from a project's task declarations",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("project", type=Path, metavar="PROJECT_DIR")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the scenarios go (PROJECT_DIR/chaos-scenarios)")  # fmt: skip
    parser.add_argument("--app", default=None, help="what celery -A takes (default: found)")
    parser.add_argument("--settings", default=None,
                        help="DJANGO_SETTINGS_MODULE (default: manage.py's)")  # fmt: skip
    parser.add_argument("--args", action="append", default=[], metavar="TASK=JSON",
                        help="a task's arguments: shop.tasks.risky_task=[1] (repeatable)")  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment of every app process (repeatable)")  # fmt: skip
    parser.add_argument("--setup", action="append", default=[], metavar="COMMAND",
                        help="run once per run after migrations (repeatable)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(func=run)


def _env(values: list[str]) -> dict[str, str]:
    env = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.isidentifier():
            raise ConfigError([Problem("not KEY=VALUE", field_path="--env", given=value)])
        env[key] = rest
    return env


def run(args: argparse.Namespace) -> int:
    from chaos.scenario import load_scenario
    from chaos.starter.reading import read_project
    from chaos.starter.writing import parse_args_option, write_library

    root = args.project.resolve()
    if not root.is_dir():
        raise ConfigError([Problem("no such project directory", file=args.project)])
    project = read_project(root)
    project.app = args.app or project.app
    project.settings = args.settings or project.settings
    if project.app is None:
        raise ConfigError([Problem(
            "no Celery app found (no module calls Celery(...))", file=args.project,
            hint="give --app, as celery -A takes it",
        )])  # fmt: skip
    if not project.tasks:
        raise ConfigError([Problem("no tasks found (@app.task / @shared_task)", file=args.project)])
    try:
        task_args = parse_args_option(args.args)
    except ValueError as exc:
        raise ConfigError([Problem(str(exc), field_path="--args")]) from None
    unknown = sorted(set(task_args) - {t.name for t in project.tasks})
    if unknown:
        raise ConfigError([Problem("no such task", field_path="--args", given=", ".join(unknown),
                                   expected=", ".join(t.name for t in project.tasks))])  # fmt: skip
    out = (args.out or root / "chaos-scenarios").resolve()
    written = write_library(project, out, args=task_args, env=_env(args.env), setup=args.setup,
                            force=args.force)  # fmt: skip
    print(f"chaos init: {project.app} (settings {project.settings or 'none'}), "
          f"{len(project.tasks)} tasks, {len(written.files)} scenarios written to {out}")
    for task in project.tasks:
        print(f"  {task.name}: {task.policy or 'no declared policy'}"
              + (f"; retry countdowns {task.retry_countdowns}" if task.retry_countdowns else "")
              + (f"; retry ladder through {task.trigger.target.label} raising "
                 f"{task.trigger.exception}" if task.trigger and task.retries else ""))
    for line in written.guessed:
        print(f"  GUESSED {line}: give --args")
    for line in written.notes + [f"{t.name}: not pinned: {u}" for t in project.tasks
                                 for u in t.unread]:  # fmt: skip
        print(f"  note: {line}")
    for path in written.files:
        load_scenario(path)  # a file that does not validate is our bug: ConfigError, loudly
    return 0
