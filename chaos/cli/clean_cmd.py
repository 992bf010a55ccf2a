"""``chaos clean``: stop what crashed runs left behind (a runner killed with ``kill -9``).

Every local stack registers its run in the state directory with its owner's pid; a run whose
owner is gone is stale, and its processes (found by pidfile and by ``CHAOS_RUN_ID`` in their
environment) are killed group by group. Docker stacks label every container, network and volume
with the run id and the owner's pid; those of stale runs are removed too (when an engine answers).
Runs whose owner is alive are left alone unless named with ``--run`` or ``--all`` is given.
"""

from __future__ import annotations

import argparse

from chaos.errors import StackError
from chaos.stack.local.reaping import reap_run, registered_runs, state_dir


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clean",
        help="stop the processes crashed runs left behind",
        description=__doc__,
        epilog="example: chaos clean            (reap runs whose runner is dead)\n"
        "         chaos clean --all      (also stop runs that are still owned)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--all", action="store_true", help="also stop runs whose owner is alive")
    parser.add_argument("--run", action="append", default=[], metavar="RUN_ID",
                        help="stop this run, owned or not (repeatable)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="say what would be stopped")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    records = registered_runs()
    named = set(args.run)
    reaped = 0
    for record in records:
        stale = not record.owner_alive()
        if not (stale or args.all or record.run_id in named):
            print(f"kept   {record.run_id} (owner pid {record.owner_pid} is alive)")
            continue
        why = "owner dead" if stale else "asked"
        if args.dry_run:
            print(f"would stop {record.run_id} ({why}) in {record.run_dir}")
            continue
        pids = reap_run(record)
        reaped += 1
        killed = ", ".join(map(str, pids)) if pids else "nothing left running"
        print(f"stopped {record.run_id} ({why}): {killed}")
    if not records:
        print(f"no registered runs (registry: {state_dir() / 'runs'})")
    docker_names = reap_docker_leftovers(args, named)
    # A docker run is not in the local registry: its objects' names carry its id.
    missing = {run_id for run_id in named - {record.run_id for record in records}
               if not any(run_id in name for name in docker_names)}  # fmt: skip
    for run_id in sorted(missing):
        print(f"no such run: {run_id} (registry: {state_dir() / 'runs'}; no docker object)")
    # 3, an infrastructure error, when a docker object could not be removed (named above).
    return 2 if missing else 3 if not_removed(docker_names) else 0


def not_removed(names: list[str]) -> list[str]:
    return [name for name in names if " NOT removed: " in name]  # reaping.NOT_REMOVED


def reap_docker_leftovers(args: argparse.Namespace, named: set[str]) -> list[str]:
    """Remove the labelled docker objects of stale runs (or of the named ones, or all); in a dry
    run, list them. Returns what was found, each entry as ``reap_docker`` says it."""
    try:
        from chaos.stack.docker.engines import known_engines
    except ImportError:
        print("docker: nothing reaped (the docker extra is not installed)")
        return []
    # Every engine of CHAOS_DOCKER_HOSTS, else DOCKER_HOST's.
    return [name for url in known_engines() for name in _reap_engine(url, args, named)]


def _reap_engine(url: str, args: argparse.Namespace, named: set[str]) -> list[str]:
    try:
        from chaos.stack.docker import reap_docker
        from chaos.stack.docker.engines import client_for

        client = client_for(url)  # the engine named now, not a cached one
        dry = bool(args.dry_run)
        removed = (
            [name for run_id in sorted(named)
             for name in reap_docker(run_id, client=client, dry_run=dry)]
            if named
            else reap_docker(include_live=args.all, client=client, dry_run=dry)
        )  # fmt: skip
    except StackError as exc:
        print(f"docker: nothing reaped ({exc.failure.reason})")
        return []
    for name in removed:
        if args.dry_run:
            print(f"would remove {name} (on {url})")
        elif not_removed([name]):
            print(f"{name} (on {url})")  # "network X NOT removed: why"
        else:
            print(f"removed {name} (on {url})")
    if not removed:
        print(f"docker {url}: nothing labelled was left")
    return removed
