# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting with one time budget per module run, for every sciplat.platform module that waits.

- ``Deadline``: one time budget for a whole module run (``wait_timeout``), shared by every wait.
- ``wait_for_status``: poll a describe function until the resource reaches a status, fails, or
  the deadline passes. ``GONE`` stands for "the describe call found nothing".
- ``waiting_argument_spec`` / ``check_wait_timeout``: the ``wait`` and ``wait_timeout`` options.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

# Status reported by wait_for_status when the describe call finds nothing.
GONE = "GONE"

# Polling starts fast (an emulator or a small change settles in seconds) and backs off to a
# ceiling that keeps the number of describe calls low for the slow cases (a cluster: ~10 min).
FIRST_DELAY = 2.0
BACKOFF = 1.5

# Indirection so unit tests can drive a fake clock without patching the time module.
_now: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


class WaitError(Exception):
    """A wait ended without reaching the wanted state; ``resource`` is the last answer seen."""

    def __init__(self, message: str, status: str | None, resource: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.status = status
        self.resource = resource


class WaitTimeout(WaitError):
    """The deadline passed."""


class WaitFailed(WaitError):
    """The resource reached a status it cannot leave by itself (CREATE_FAILED, Failed, ...)."""


class Deadline:
    """The time budget of one module run, in seconds from its creation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = _now() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - _now())

    def passed(self) -> bool:
        return _now() >= self._end


def wait_for_status(
    describe: Callable[[], dict[str, Any] | None],
    *,
    want: Iterable[str],
    deadline: Deadline,
    what: str,
    fail_on: Iterable[str] = (),
    status_of: Callable[[dict[str, Any]], str | None] = lambda resource: resource.get("status"),
    max_delay: float = 15.0,
) -> dict[str, Any] | None:
    """Poll ``describe`` until the resource's status is in ``want``.

    Returns the last resource seen (``None`` when ``GONE`` was wanted and reached).
    Raises WaitFailed as soon as the status is in ``fail_on``, WaitTimeout when the deadline
    passes. The first describe happens immediately: a resource already in a wanted status costs
    one call and no sleep.
    """
    wanted = set(want)
    failing = set(fail_on)
    delay = FIRST_DELAY
    while True:
        resource = describe()
        status = GONE if resource is None else status_of(resource)
        if status in wanted:
            return resource
        if status in failing:
            raise WaitFailed(f"{what} reached status {status}", status, resource)
        if status == GONE:
            raise WaitFailed(f"{what} disappeared while waiting for {'/'.join(sorted(wanted))}", status, None)
        remaining = deadline.remaining()
        if remaining <= 0:
            wanted_text = "/".join(sorted(wanted))
            raise WaitTimeout(
                f"{what} still {status} after {deadline.seconds:g} s (waiting for {wanted_text});"
                " raise wait_timeout or check the resource",
                status,
                resource,
            )
        _sleep(min(delay, remaining))
        delay = min(delay * BACKOFF, max_delay)


def waiting_argument_spec(wait_timeout: int, wait: bool = True) -> dict[str, Any]:
    """The ``wait`` and ``wait_timeout`` options, with this module's defaults."""
    return {
        "wait": {"type": "bool", "default": wait},
        "wait_timeout": {"type": "int", "default": wait_timeout},
    }


def check_wait_timeout(module: Any) -> None:
    """Refuse a negative ``wait_timeout``, naming it, before the module reads or changes anything."""
    seconds = module.params["wait_timeout"]
    if seconds < 0:
        module.fail_json(msg=f"wait_timeout is {seconds}: it accepts 0 or more seconds")
