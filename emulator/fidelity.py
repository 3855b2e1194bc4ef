"""The fidelity layer: where moto answers unlike AWS, answer like AWS.

``install()`` extends moto before the server builds its apps (see docs/emulator.md for the list);
``wrap_app()`` adds the emulator's own endpoints:

- ``GET /_emulator/lifecycle``: every provisioning wait so far (emulator.lifecycle.Record), as JSON;
- ``GET /_emulator/config``: the time scale and the real durations it divides.

moto's ``POST /moto-api/reset`` also empties the lifecycle log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_api._internal.models import MotoAPIBackend

from emulator import backup, ec2, efs, eks, iam, lifecycle
from emulator.patching import wrap


def _reset(original: Callable[..., Any], backend: Any) -> None:
    original(backend)
    lifecycle.LOG.clear()


def install(time_scale: float, state_dir: Path) -> None:
    del state_dir  # all state lives in the process, as moto's does
    lifecycle.configure(time_scale)
    for module in (eks, ec2, efs, backup, iam):
        module.install()
    wrap(MotoAPIBackend, "reset")(_reset)


ENDPOINTS: dict[str, Callable[[], Any]] = {
    "/_emulator/lifecycle": lifecycle.LOG.as_json,
    "/_emulator/config": lifecycle.config,
}


def wrap_app(app: Any) -> Any:
    def emulator_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        endpoint = ENDPOINTS.get(environ.get("PATH_INFO", ""))
        if endpoint is None or environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)  # type: ignore[no-any-return]
        body = json.dumps(endpoint()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return emulator_app
