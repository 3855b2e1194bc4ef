"""Every AWS API call the emulator answers, counted by service and operation.

``GET /_emulator/calls`` returns ``{"total": N, "calls": {"ec2 DescribeVpcs": n, ...}}`` since the
server started; a benchmark takes two snapshots and subtracts (``make bench``: the AWS calls of a
no-op converge against the resources it manages). The operation is named as the SDK names it:

- query protocol (EC2, IAM, STS, CloudWatch, SNS, Auto Scaling): the ``Action`` parameter;
- JSON protocol (CloudWatch Logs, SSM, KMS, ECR, CodeBuild, Budgets): the ``X-Amz-Target`` header;
- REST protocols (EKS, EFS, Backup, S3): the method and path matched against botocore's service
  model, the same model the SDK builds the request from.

The service is the signing name in the request's SigV4 credential scope.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from functools import cache
from typing import Any
from urllib.parse import parse_qs

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# Signing names whose botocore service name differs.
_MODEL_NAMES = {"elasticfilesystem": "efs"}


def snapshot() -> dict[str, Any]:
    with _lock:
        calls = dict(sorted(_counts.items()))
    return {"total": sum(calls.values()), "calls": calls}


def record(environ: dict[str, Any]) -> None:
    """Count the request ``environ`` (a WSGI environ), if it is an AWS API call."""
    service = _service(environ)
    if service is None:
        return
    operation = _operation(service, environ)
    with _lock:
        _counts[f"{service} {operation}"] += 1


def _service(environ: dict[str, Any]) -> str | None:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = (query.get("X-Amz-Credential") or [""])[0]  # a presigned URL
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None


def _operation(service: str, environ: dict[str, Any]) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if action:
        return action[0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _peek_body(environ)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "") or "/"
    keys = set(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    keys |= {key[5:].replace("_", "-").lower() for key in environ if key.startswith("HTTP_")}
    for op_method, pattern, needs, name in _rest_operations(_MODEL_NAMES.get(service, service)):
        if op_method == method and needs <= keys and pattern.fullmatch(path):
            return name
    return f"{method} {path}"


def _peek_body(environ: dict[str, Any]) -> bytes:
    """Read the body and put it back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


@cache
def _rest_operations(service: str) -> list[tuple[str, re.Pattern[str], frozenset[str], str]]:
    """(method, path pattern, query keys and headers it needs, operation) of a REST service's model,
    the most specific first: more of those (S3's ``/{Bucket}?policy``, CopyObject's
    ``x-amz-copy-source``), then more literal path."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:  # not a service botocore knows by that name: fall back to method and path
        return []
    found = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        uri, _, query = http.get("requestUri", "/").partition("?")
        needs = {pair.split("=", 1)[0] for pair in query.split("&") if pair}
        shape = operation.input_shape
        if shape is not None:
            needs |= {
                shape.members[member].serialization["name"].lower()
                for member in shape.required_members
                if shape.members[member].serialization.get("location") == "header"
            }
        parts = re.split(r"(\{[^}]+\})", uri)
        regex = "".join(
            (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part)
            for part in parts
        )
        literal = sum(len(part) for part in parts if not part.startswith("{"))
        found.append(
            (-len(needs), -literal, http.get("method", "POST"), regex.rstrip("/") + "/?", needs, name)
        )
    found.sort()
    return [(method, re.compile(regex), needs, name) for _, _, method, regex, needs, name in found]
