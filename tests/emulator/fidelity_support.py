"""Constants and helpers shared by the emulator tests (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from emulator.lifecycle import REAL_SECONDS

# Real durations / 600: a 10-minute EKS cluster takes 1 s, so every wait is observable but short.
TIME_SCALE = 600.0
ROLE_ARN = "arn:aws:iam::123456789012:role/eks"

Client = Callable[..., Any]


def scaled(model: str) -> float:
    """How long a transition takes in these tests."""
    return REAL_SECONDS[model] / TIME_SCALE


def fast(attempts: int = 100) -> dict[str, float]:
    """WaiterConfig polling every 50 ms instead of AWS's 10-30 s."""
    return {"Delay": 0.05, "MaxAttempts": attempts}


@contextmanager
def transition(endpoint: str, model: str, progression: dict[str, Any]) -> Iterator[None]:
    """Override one model's transition through moto's state manager, for a ``with`` block."""

    def post(path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{endpoint}/moto-api/state-manager/{path}", json.dumps(body).encode()
        )
        urllib.request.urlopen(request).close()

    post("set-transition", {"model_name": model, "transition": progression})
    try:
        yield
    finally:
        post("unset-transition", {"model_name": model})
