"""The HTML report of a run (``OUT/report.html``)."""

from .build import build_report, write_report

__all__ = ["build_report", "write_report"]
