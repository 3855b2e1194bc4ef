"""The cloudwatch_alarms role's log-based alarms, as the tests hold real log lines up to them.

Each alarm counts the lines its metric filter matches (roles/cloudwatch_alarms/vars/main.yml,
cloudwatch_alarms__log_metrics). `counted` applies the filter's pattern as CloudWatch Logs does for a
quoted phrase, through moto's implementation of the filter syntax, so a changed log line or pattern
fails the test that produced the line.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from moto.logs.utils import EventMessageFilter

ROLE_VARS = Path(__file__).resolve().parent.parent / "roles" / "cloudwatch_alarms" / "vars" / "main.yml"


def log_pattern(alarm: str) -> str:
    metrics = yaml.safe_load(ROLE_VARS.read_text())["cloudwatch_alarms__log_metrics"]
    return next(m["pattern"] for m in metrics if m["alarm"] == alarm)


def counted(alarm: str, text: str) -> list[str]:
    """The lines of `text` the alarm's metric filter counts."""
    matcher = EventMessageFilter(log_pattern(alarm))
    return [line for line in text.splitlines() if line and matcher.matches(line)]
