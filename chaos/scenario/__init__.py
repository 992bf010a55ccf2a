"""Scenario files: the typed model, the loader with located errors, and timeline resolution."""

from __future__ import annotations

from chaos.scenario.durations import format_duration, parse_duration
from chaos.scenario.loader import (
    LoadedScenario,
    load_scenario,
    load_scenario_text,
    scenario_files,
    scenario_problems,
)
from chaos.scenario.model import FAULT_TYPES, Expectation, Scenario
from chaos.scenario.timeline import (
    TIMELINE_FILE,
    ResolvedFault,
    ResolvedTimeline,
    new_seed,
    resolve_timeline,
)

__all__ = [
    "FAULT_TYPES",
    "TIMELINE_FILE",
    "Expectation",
    "LoadedScenario",
    "ResolvedFault",
    "ResolvedTimeline",
    "Scenario",
    "format_duration",
    "load_scenario",
    "load_scenario_text",
    "new_seed",
    "parse_duration",
    "resolve_timeline",
    "scenario_files",
    "scenario_problems",
]
