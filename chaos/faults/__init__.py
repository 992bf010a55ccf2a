"""Fault types, one registered unit each: model, target, apply/heal, effects and label.

``registry`` holds the table; ``broker``, ``proxy``, ``worker``, ``pool`` and ``failpoint`` each declare
their family's types. Importing this package registers them all, in that order (the order
``chaos validate`` lists the types in).
"""

from __future__ import annotations

import importlib

from chaos.faults.registry import (
    Effect,
    FaultContext,
    FaultType,
    RegistryError,
    Resolution,
    fault_type,
    fault_types,
    past_tense,
)

#: The modules that declare fault types, in the order their types are listed.
FAMILIES = ("chaos.faults.broker", "chaos.faults.proxy", "chaos.faults.worker",
            "chaos.faults.pool", "chaos.faults.failpoint")  # fmt: skip

for _module in FAMILIES:
    importlib.import_module(_module)

__all__ = [
    "FAMILIES",
    "Effect",
    "FaultContext",
    "FaultType",
    "RegistryError",
    "Resolution",
    "fault_type",
    "fault_types",
    "past_tense",
]
