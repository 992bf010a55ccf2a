"""``python -m chaos.stack._migrate``: migrate the run's database, and only that one.

Run with the app's environment. Before migrating it checks that Django's settings put the
database at ``$CHAOS_RUN_DATABASE`` (an SQLite file): settings that ignore the variable the
scenario names would otherwise migrate the project's own development database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXIT_WRONG_DATABASE = 4


def main() -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    expected = Path(os.environ["CHAOS_RUN_DATABASE"]).resolve()
    alias = os.environ.get("CHAOS_RUN_DATABASE_ALIAS", "default")
    entry = connections.databases.get(alias)
    if entry is None:
        print(f"chaos: the settings define no database {alias!r} "
              f"(they define {sorted(connections.databases)})", file=sys.stderr)  # fmt: skip
        return EXIT_WRONG_DATABASE
    if "sqlite3" not in str(entry.get("ENGINE", "")):
        print(f"chaos: database {alias!r} is {entry.get('ENGINE')}; the per-run database is "
              "SQLite only", file=sys.stderr)  # fmt: skip
        return EXIT_WRONG_DATABASE
    name = Path(str(entry.get("NAME"))).resolve()
    if name != expected:
        print(f"chaos: the settings put database {alias!r} at {name}, not at the run's {expected}:"
              " refusing to migrate it (is app.database.env the variable the settings read?)",
              file=sys.stderr)  # fmt: skip
        return EXIT_WRONG_DATABASE
    call_command("migrate", interactive=False, verbosity=0, database=alias)
    return 0


if __name__ == "__main__":
    sys.exit(main())
