"""The fidelity layer: where moto answers unlike AWS, answer like AWS.

Placeholder until the extensions land: install() and wrap_app() are the two hooks server.py calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def install(time_scale: float, state_dir: Path) -> None:
    del time_scale, state_dir


def wrap_app(app: Any) -> Any:
    return app
