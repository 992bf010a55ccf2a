"""What the plugin's end-to-end tests put into their pytester projects: a user's project as it
would look (pytest-django on, settings from the ini, the reference app on the path)."""

from __future__ import annotations

from chaos.stack.base import REFERENCE_APP_DIR

INI = f"""\
[pytest]
pythonpath = {REFERENCE_APP_DIR}
DJANGO_SETTINGS_MODULE = myproject.settings
addopts = -p no:hypothesispytest -p no:cacheprovider
"""

#: Three orders through the seed's view, no fault: every promise holds.
HOLDS = """\
name: holds
workload:
  - path: naive
    count: 3
    rate: 10/s
expect:
  - check: no_lost
drain: 20s
timeout: 60s
"""
