"""The site's Kubernetes API, through the kubeconfig the cluster stage writes.

The kubeconfig's credential plugin (``aws eks get-token``) runs with the site's AWS environment
(profile, endpoint), as every AWS call of a runbook does. One client per kubeconfig file for a few
minutes (an EKS token lasts 15); a kubeconfig the cluster stage rewrote (a re-created cluster has a
new endpoint and CA) gets a new client.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from runbooks.site import Site

CLIENT_SECONDS = 300
_clients: dict[tuple[str, int], tuple[float, Any]] = {}


def api_client(site: Site, kubeconfig: str) -> Any:
    from kubernetes import config

    key = (kubeconfig, Path(kubeconfig).stat().st_mtime_ns)
    made, api = _clients.get(key, (0.0, None))
    if api is None or time.monotonic() - made > CLIENT_SECONDS:
        with site.aws():
            api = config.new_client_from_config(kubeconfig)
        _clients[key] = (time.monotonic(), api)
    return api


def core(site: Site, kubeconfig: str) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client(site, kubeconfig))


def batch(site: Site, kubeconfig: str) -> Any:
    from kubernetes import client

    return client.BatchV1Api(api_client(site, kubeconfig))


def reason(error: Exception) -> str:
    """The API server's message of an ApiException (its JSON body), else the error's first line."""
    import json

    body = getattr(error, "body", None)
    if body:
        try:
            return str(json.loads(body).get("message") or body)[:300]
        except ValueError:
            return str(body)[:300]
    return str(getattr(error, "reason", None) or str(error).splitlines()[0])[:300]
