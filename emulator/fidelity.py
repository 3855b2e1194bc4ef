"""The fidelity layer: where moto answers unlike AWS, answer like AWS.

``install()`` extends moto before the server builds its apps (see docs/emulator.md for the list);
``wrap_app()`` adds the emulator's own endpoints:

- ``GET /_emulator/lifecycle``: every provisioning wait so far (emulator.lifecycle.Record), as JSON;
- ``GET /_emulator/config``: the time scale and the real durations it divides;
- ``GET /_emulator/calls``: the AWS API calls answered so far, by service and operation (emulator.calls);
- ``GET /_emulator/efs``: every EFS file system's data directory; ``GET /_emulator/efs/<fs-id>`` one;
- ``POST /_emulator/backup/run-plan``: start the backup jobs a plan's rules would start now;
- ``POST /_emulator/ecr/push``: push a local OCI image archive into the emulated ECR and onto the real
  nodes of that account and region (emulator.ecr_images);
- ``POST /_emulator/eks/<account>/<region>/<cluster>/authenticate``: the cluster API server's token
  webhook (a TokenReview; emulator.eks_access.review). ``POST /_emulator/eks/<cluster>/authenticate``
  does the same for a cluster name unique in the emulator (emulator.eks_access.review_by_name).

moto's ``POST /moto-api/reset`` also empties the lifecycle log, forgets backup and restore jobs and
removes the file systems' and recovery points' data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError, ServiceException
from moto.moto_api._internal.models import MotoAPIBackend

from emulator import (
    backup,
    backup_jobs,
    budgets,
    calls,
    cloudwatch,
    codebuild,
    ec2,
    ecr,
    ecr_images,
    efs,
    efs_data,
    eks,
    eks_access,
    eks_kubernetes,
    iam,
    kms,
    lifecycle,
    logs,
    sns,
)
from emulator.patching import wrap


def _reset(original: Callable[..., Any], backend: Any) -> None:
    original(backend)
    lifecycle.LOG.clear()
    backup_jobs.reset()
    efs_data.clear()
    eks_kubernetes.reset()
    ecr_images.reset()
    eks_access.reset()


def install(time_scale: float, state_dir: Path, endpoint: str | None = None) -> None:
    """State is in the process, as moto's is, except the EFS data plane and the clusters' Kubernetes
    under ``state_dir``; ``endpoint`` is this emulator's URL (the API servers' token webhook)."""
    lifecycle.configure(time_scale)
    efs_data.configure(state_dir)
    eks_kubernetes.configure(state_dir, endpoint, time_scale)
    for module in (eks, ec2, ecr, efs, backup, iam, kms, budgets, cloudwatch, logs, sns, codebuild):
        module.install()
    wrap(MotoAPIBackend, "reset")(_reset)


class NotFound(Exception):
    pass


def _settle_restores() -> None:
    """Restores that are due write their data before anyone looks (they also do on a timer)."""
    for backend in backup_jobs.backends():
        for job in list(backend.restore_jobs.values()):
            job.settle()


def _file_system_json(file_system: Any) -> dict[str, Any]:
    return {
        "file_system_id": file_system.file_system_id,
        "file_system_arn": file_system.file_system_arn,
        "life_cycle_state": file_system.life_cycle_state,
        "path": str(efs_data.file_system_dir(file_system.file_system_id)),
    }


def efs_file_systems(_: dict[str, Any]) -> list[dict[str, Any]]:
    _settle_restores()
    return [_file_system_json(file_system) for file_system in efs.file_systems()]


def efs_file_system(file_system_id: str) -> dict[str, Any]:
    _settle_restores()
    file_system = efs.find_file_system(file_system_id)
    if file_system is None:
        raise NotFound(f"File system '{file_system_id}' does not exist.")
    return _file_system_json(file_system)


ENDPOINTS: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
    ("GET", "/_emulator/lifecycle"): lambda _: lifecycle.LOG.as_json(),
    ("GET", "/_emulator/config"): lambda _: lifecycle.config(),
    ("GET", "/_emulator/calls"): lambda _: calls.snapshot(),
    ("GET", "/_emulator/efs"): efs_file_systems,
    ("POST", "/_emulator/backup/run-plan"): backup_jobs.run_plan,
    ("POST", "/_emulator/ecr/push"): ecr_images.push,
    ("POST", "/_emulator/images/public"): ecr_images.publish,
}


def token_review(*where: str) -> Callable[[dict[str, Any]], Any]:
    """The API server's authentication webhook: a TokenReview in, the same with its status out.

    ``where`` is (account, region, cluster), or (cluster,) for a cluster name unique in the emulator.
    """

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        token = str(request.get("spec", {}).get("token", ""))
        if len(where) == 1:
            status = eks_access.review_by_name(where[0], token)
        else:
            status = eks_access.review(*where, token)
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}

    return answer


def _route(method: str, path: str) -> Callable[[dict[str, Any]], Any] | None:
    if (method, path.rstrip("/")) in ENDPOINTS:
        return ENDPOINTS[(method, path.rstrip("/"))]
    parts = path.strip("/").split("/")
    if (
        method == "POST"
        and len(parts) in (4, 6)
        and parts[:2] == ["_emulator", "eks"]
        and parts[-1] == "authenticate"
    ):
        return token_review(*parts[2:-1])
    if method == "GET" and path.startswith("/_emulator/efs/"):
        file_system_id = path.removeprefix("/_emulator/efs/").strip("/")
        return lambda _: efs_file_system(file_system_id)
    return None


def wrap_app(app: Any) -> Any:
    def emulator_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        endpoint = _route(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if endpoint is None:
            calls.record(environ)
            return app(environ, start_response)  # type: ignore[no-any-return]
        status = "200 OK"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            result = endpoint(request)
        except NotFound as error:
            status, result = "404 Not Found", {"error": str(error)}
        except JsonRESTError as error:
            status, result = f"{error.code} Error", {"error": error.error_type, "message": error.message}
        except ServiceException as error:
            status, result = "400 Bad Request", {"error": error.code, "message": error.message}
        except (KeyError, ValueError) as error:
            status, result = "400 Bad Request", {"error": f"bad request: {error}"}
        body = json.dumps(result).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return emulator_app
