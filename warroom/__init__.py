"""warroom: incident response as running software — the runbook as code."""

__version__ = "0.1.0"
