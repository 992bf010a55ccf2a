"""The 4.2 stand-in for ``OPTIONS["transaction_mode"] = "IMMEDIATE"``."""

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        self.cursor().execute("BEGIN IMMEDIATE")
