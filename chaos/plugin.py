"""The pytest plugin, registered through the ``pytest11`` entry point (fixtures land with the
plugin issue; this module only registers what exists so far)."""

from __future__ import annotations
