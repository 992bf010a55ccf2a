"""A Celery app whose import fails: the stack must say so, with the worker's log tail."""

raise RuntimeError("brokenapp refuses to import (on purpose, for the stack's bad-input test)")
