"""Time-taking lifecycle states, and the log of every provisioning wait.

On AWS a new EKS cluster is CREATING for about ten minutes, a NAT gateway ``pending`` for a couple;
moto makes everything ready at once, so no wait loop is ever exercised. Here a resource's status is
a function of the clock: a transition started now ends after the typical real duration divided by
the time scale. Every describe (and every waiter) sees the progression; nothing runs in the
background.

Durations are registered with moto's state manager under the model names below, so one can be
changed at run time like moto's own (``POST /moto-api/state-manager/set-transition`` with
``{"progression": "time", "seconds": 5}`` or ``{"progression": "immediate"}``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.moto_api import state_manager

# Typical real AWS durations in seconds; where each comes from is in docs/emulator.md.
REAL_SECONDS: dict[str, float] = {
    "eks::cluster.create": 600,
    "eks::cluster.update": 180,
    "eks::cluster.version": 600,
    "eks::cluster.delete": 300,
    "eks::nodegroup.create": 150,
    "eks::nodegroup.update": 60,
    "eks::nodegroup.version": 900,
    "eks::nodegroup.delete": 180,
    "eks::addon.create": 60,
    "eks::addon.update": 60,
    "eks::addon.delete": 30,
    "ec2::nat-gateway.create": 120,
    "ec2::nat-gateway.delete": 60,
    "ec2::image.create": 300,
    "ec2::image.register": 30,
    "ec2::image.copy": 600,
    "efs::file-system.create": 10,
    "efs::mount-target.create": 90,
    "efs::backup-policy.update": 30,
    "backup::backup-job.start": 60,
    "backup::backup-job.run": 180,
    "backup::restore-job.start": 60,
    "backup::restore-job.run": 300,
}

_time_scale = 1.0


def configure(time_scale: float) -> None:
    """Register every duration, divided by ``time_scale``, as moto's default transition."""
    global _time_scale
    _time_scale = time_scale
    for model, seconds in REAL_SECONDS.items():
        state_manager.register_default_transition(
            model, {"progression": "time", "seconds": seconds / time_scale}
        )


def time_scale() -> float:
    return _time_scale


def config() -> dict[str, Any]:
    return {"time_scale": _time_scale, "durations": REAL_SECONDS}


def wait_seconds(model: str) -> float:
    """How long a transition of ``model`` takes now (moto's "manual" progression counts as immediate)."""
    transition = state_manager.get_transition(model)
    return float(transition["seconds"]) if transition["progression"] == "time" else 0.0


def scaled(model: str, real_seconds: float) -> float:
    """``real_seconds`` more of ``model``'s transition, on the emulator's clock (as its default is, or
    as a state-manager override stretches it)."""
    return real_seconds * wait_seconds(model) / REAL_SECONDS[model]


class Timeline:
    """A resource's status over time: a steady status, or one that changes at a known instant."""

    def __init__(self, status: str | None) -> None:
        self.steps: list[tuple[float, str | None]] = [(0.0, status)]

    def status(self) -> str | None:
        now = time.time()
        return [status for at, status in self.steps if at <= now][-1]

    def settle(self, status: str | None) -> None:
        self.steps = [(0.0, status)]

    def move(self, transient: str, final: str | None, until: float) -> None:
        """Be ``transient`` now, ``final`` from ``until`` (epoch seconds) on."""
        self.steps = [(0.0, transient), (until, final)]

    def sequence(self, first: str | None, *later: tuple[float, str | None]) -> None:
        """Be ``first`` now, then each ``(at, status)`` from its instant (epoch seconds) on."""
        self.steps = [(0.0, first), *later]

    def until(self, status: str) -> float | None:
        """When ``status`` begins (None if it never does)."""
        return next((at for at, step in self.steps if step == status), None)


def timeline(obj: Any) -> Timeline:
    return obj.__dict__.setdefault("_timeline", Timeline(None))  # type: ignore[no-any-return]


class TimedStatus:
    """Put on a moto model class in place of its plain status attribute: reads come from the clock.

    moto's own assignments (``self.state = "available"``) still work: they set a steady status.
    None means the resource is gone (deleted).
    """

    def __get__(self, obj: Any, owner: type) -> Any:
        return self if obj is None else timeline(obj).status()

    def __set__(self, obj: Any, value: str | None) -> None:
        timeline(obj).settle(value)


@dataclass
class Record:
    """One resource's provisioning waits (epoch seconds; a time is shown once it is reached)."""

    service: str
    resource_type: str
    id: str
    created_at: float
    ready_at: float | None = None
    deleting_at: float | None = None
    deleted_at: float | None = None
    updates: list[dict[str, float]] = field(default_factory=list)
    # For a readiness that depends on other resources (coredns needs nodes): refreshes ready_at.
    probe: Callable[[], object] | None = None

    def as_json(self, now: float) -> dict[str, Any]:
        if self.probe:
            self.probe()

        def reached(at: float | None) -> float | None:
            return at if at is not None and at <= now else None

        return {
            "service": self.service,
            "resource_type": self.resource_type,
            "id": self.id,
            "created_at": self.created_at,
            "ready_at": reached(self.ready_at),
            "deleting_at": self.deleting_at,
            "deleted_at": reached(self.deleted_at),
            "updates": [
                {"started_at": u["started_at"], "ready_at": reached(u["ready_at"])} for u in self.updates
            ],
        }


class LifecycleLog:
    def __init__(self) -> None:
        self._records: list[Record] = []
        self._lock = threading.Lock()

    def add(self, record: Record) -> Record:
        with self._lock:
            self._records.append(record)
        return record

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def as_json(self) -> list[dict[str, Any]]:
        now = time.time()
        with self._lock:
            records = list(self._records)
        return [record.as_json(now) for record in records]


LOG = LifecycleLog()


def record_of(obj: Any) -> Record | None:
    return obj.__dict__.get("_lifecycle")  # type: ignore[no-any-return]


def _start(obj: Any, model: str, transient: str, final: str | None) -> tuple[float, float]:
    now = time.time()
    until = now + wait_seconds(model)
    timeline(obj).move(transient, final, until)
    return now, until


def provision(obj: Any, model: str, resource_id: str, transient: str, final: str) -> Record:
    """Start creating ``obj`` (``transient`` now, ``final`` when done) and log it.

    ``model`` is a key of REAL_SECONDS, ``service::resource-type.action``.
    """
    service, _, action = model.partition("::")
    created_at, ready_at = _start(obj, model, transient, final)
    record = Record(service, action.split(".")[0], resource_id, created_at, ready_at)
    obj.__dict__["_lifecycle"] = record
    return LOG.add(record)


def update(obj: Any, model: str, transient: str, final: str) -> float:
    """Start updating ``obj``; return when the update ends."""
    started_at, ready_at = _start(obj, model, transient, final)
    if record := record_of(obj):
        record.updates.append({"started_at": started_at, "ready_at": ready_at})
    return ready_at


def deprovision(obj: Any, model: str, transient: str, final: str | None = None) -> None:
    """Start deleting ``obj``: ``transient`` now, then ``final`` (None: gone)."""
    deleting_at, deleted_at = _start(obj, model, transient, final)
    if record := record_of(obj):
        record.deleting_at, record.deleted_at = deleting_at, deleted_at
        if record.ready_at is not None and record.ready_at > deleting_at:
            record.ready_at = None  # deleted before it was ever ready
