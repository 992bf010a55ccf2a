"""SQLite with ``BEGIN IMMEDIATE`` transactions on Django 4.2 (5.1+ says it in OPTIONS).

The web process, the outbox relay and every worker write to one SQLite file; a deferred
transaction that reads and then writes can fail at once with "database is locked" instead of
waiting for the write lock. Django 5.1 added ``OPTIONS["transaction_mode"]``; on 4.2 settings.py
points ENGINE here instead.
"""
