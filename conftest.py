"""Root pytest wiring.

Django's settings module and ``app/`` on ``sys.path`` come from ``[tool.pytest.ini_options]`` in
pyproject.toml (pytest-django reads ``DJANGO_SETTINGS_MODULE`` there); the chaos plugin (fixtures
``chaos_stack``, ``broker``, ``proxy``, ``workers``, ``journal``, option ``--chaos-backend``) is
registered through its ``pytest11`` entry point, so a user's project gets it the same way.
"""
