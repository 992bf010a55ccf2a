"""The pytest plugin and its parts, one module each (pytest-celery's layering).

``plugin`` only registers (the ``pytest11`` entry point names it); ``options`` holds
``--chaos-*`` and the ini option; ``fixtures`` the stack, broker, proxy, workers and journal
fixtures; ``journal`` the journal view a test reads; ``scenarios`` collects scenario files as
test items; ``assertions`` the helpers a test asserts with. Importing this package imports
nothing heavy: the plugin loads in every session of a project that installs ``chaos``.
"""
