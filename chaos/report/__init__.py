"""Reports of a run: report.json, the timeline picture (PNG, SVG), the HTML page, JUnit XML.

Each writer takes a run directory and, optionally, what the caller already has in memory (the
history, the verdicts), so the runner writes them at the end of a run and ``chaos report`` writes
them again later from the journal and report.json alone. matplotlib is imported only when a
picture is drawn.
"""

from __future__ import annotations

from chaos.report.html_page import HTML_FILE, write_html
from chaos.report.json_report import (
    REPORT_FILE,
    build_report,
    list_report_files,
    read_report,
    read_verdicts,
    write_json,
)
from chaos.report.junit import junit_properties, verdict_text, write_junit
from chaos.report.timeline import (
    TIMELINE_PNG,
    TIMELINE_SVG,
    TimelinePaths,
    draw_timeline,
    resume_marks,
    write_timeline,
)

__all__ = [
    "HTML_FILE",
    "REPORT_FILE",
    "TIMELINE_PNG",
    "TIMELINE_SVG",
    "TimelinePaths",
    "build_report",
    "draw_timeline",
    "junit_properties",
    "list_report_files",
    "read_report",
    "read_verdicts",
    "resume_marks",
    "verdict_text",
    "write_html",
    "write_json",
    "write_junit",
    "write_timeline",
]
