"""The site's cost cap as the hub reads it before each spawn (docs/cost.md, `runbook run cost-cap`).

While the SSM parameter exists, new servers are refused with its reason; running servers are not
touched. An error reading it lets the spawn through (fail open) and is logged: a broken SSM call must
not lock every user out.

Both backends load this file beside jupyterhub_config.py. The single-node hub's venv has boto3 (it
finds the host's instance profile). The zero-to-jupyterhub hub image has no boto3, so there the
parameter is read with the standard library: GetParameter signed with Signature Version 4, with the
credentials from the environment (AWS_ACCESS_KEY_ID, ...) or from the service account's web identity
(IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, exchanged at STS). AWS_ENDPOINT_URL(_SSM/_STS)
are honoured as boto3 honours them.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

TIMEOUT_SECONDS = 5


class ParameterNotFound(Exception):
    """The parameter does not exist: the cap is off."""


def _endpoint(service: str, region: str) -> str:
    for name in (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"):
        if os.environ.get(name):
            return os.environ[name].rstrip("/") + "/"
    return f"https://{service}.{region}.amazonaws.com/"


def _web_identity_credentials(region: str) -> dict:
    """Temporary credentials for the pod's IAM role (IRSA): AssumeRoleWithWebIdentity needs no signature."""
    with open(os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"], encoding="utf-8") as token_file:
        token = token_file.read().strip()
    query = urllib.parse.urlencode(
        {
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "RoleArn": os.environ["AWS_ROLE_ARN"],
            "RoleSessionName": os.environ.get("AWS_ROLE_SESSION_NAME") or "sciplat-hub-cost-cap",
            "WebIdentityToken": token,
        }
    )
    request = urllib.request.Request(
        _endpoint("sts", region),
        data=query.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
        tree = ET.fromstring(answer.read())
    found = {el.tag.rsplit("}", 1)[-1]: el.text for el in tree.iter()}
    return {"key": found["AccessKeyId"], "secret": found["SecretAccessKey"], "token": found["SessionToken"]}


def credentials(region: str) -> dict:
    """The environment's credentials, else the web identity's (the order boto3 tries them in)."""
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return {
            "key": os.environ["AWS_ACCESS_KEY_ID"],
            "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
            "token": os.environ.get("AWS_SESSION_TOKEN", ""),
        }
    if os.environ.get("AWS_ROLE_ARN") and os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return _web_identity_credentials(region)
    raise RuntimeError("no AWS credentials: neither AWS_ACCESS_KEY_ID nor a web identity (IRSA) is set")


def signed_headers(
    creds: dict, region: str, service: str, url: str, body: bytes, headers: dict, now=None
) -> dict:
    """The request's headers with its Signature Version 4 Authorization (the AWS reference's recipe)."""
    now = now or datetime.datetime.now(datetime.UTC)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    parts = urllib.parse.urlsplit(url)
    headers = {**headers, "host": parts.netloc, "x-amz-date": stamp}
    if creds.get("token"):
        headers["x-amz-security-token"] = creds["token"]
    names = sorted(name.lower() for name in headers)
    lowered = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
    canonical = "\n".join(
        [
            "POST",
            parts.path or "/",
            parts.query,
            "".join(f"{name}:{lowered[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("AWS4" + creds["secret"]).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds['key']}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return headers


def get_parameter_stdlib(name: str, region: str) -> str:
    """SSM GetParameter with the standard library; ParameterNotFound when it does not exist."""
    url = _endpoint("ssm", region)
    body = json.dumps({"Name": name}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"}
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers=signed_headers(credentials(region), region, "ssm", url, body, headers),
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return json.loads(answer.read())["Parameter"]["Value"]
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        if "ParameterNotFound" in text:
            raise ParameterNotFound(name) from None
        raise RuntimeError(f"SSM GetParameter {name}: HTTP {error.code}: {text[:300]}") from None


def get_parameter_boto3(name: str, region: str) -> str:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=TIMEOUT_SECONDS, retries={"max_attempts": 2})
    ssm = boto3.client("ssm", region_name=region or None, config=config)
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise ParameterNotFound(name) from None


def default_reader():
    """boto3 where the hub has it (single node: the instance profile), else the standard library."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return get_parameter_stdlib
    return get_parameter_boto3


def _region(region: str) -> str:
    return region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class CostCap:
    """The cap's record (a dict) while it is on, else None; one reading reused for cache_seconds."""

    def __init__(self, parameter: str, region: str, contact: str, log, reader=None, cache_seconds: float = 5):
        self.parameter, self.region, self.contact, self.log = parameter, _region(region), contact, log
        self.reader = reader or default_reader()
        self.cache_seconds = cache_seconds
        self._cache = {"at": float("-inf"), "record": None}

    def read(self) -> dict | None:
        try:
            value = self.reader(self.parameter, self.region)
        except ParameterNotFound:
            return None
        try:
            record = json.loads(value)
        except ValueError:
            record = {}
        return record if isinstance(record, dict) else {}

    async def record(self) -> dict | None:
        now = time.monotonic()
        if now - self._cache["at"] >= self.cache_seconds:
            try:
                record = await asyncio.get_running_loop().run_in_executor(None, self.read)
            except Exception as error:  # any failure: log it and let spawns through
                self.log.warning(
                    "cost cap: cannot read %s (%s); letting the spawn through", self.parameter, error
                )
                return None
            self._cache.update(at=now, record=record)
        record = self._cache["record"]
        if record is None or record.get("enabled") is False:
            return None
        return record

    def pre_spawn_check(self, pages):
        """A pre-spawn check refusing new servers with the cost cap's page while the cap is on."""

        async def refuse_spawns_under_the_cost_cap(spawner):
            record = await self.record()
            if record is None:
                return
            refusal = pages.cost_cap_refusal(record, self.contact)
            spawner.log.warning(
                "cost cap: refused %s's server: %s", spawner.user.name, refusal.jupyterhub_message
            )
            raise refusal

        return refuse_spawns_under_the_cost_cap
