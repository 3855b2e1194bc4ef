"""AWS calls from the hub with the standard library: the zero-to-jupyterhub hub image has no boto3.

A JSON-protocol request (SSM, ECR, ...) signed with Signature Version 4, with the credentials from the
environment (AWS_ACCESS_KEY_ID, ...) or from the service account's web identity (IRSA: AWS_ROLE_ARN +
AWS_WEB_IDENTITY_TOKEN_FILE, exchanged at STS). AWS_ENDPOINT_URL(_<SERVICE>) are honoured as boto3
honours them. Used by sciplat_costcap.py (the cost cap) and sciplat_images.py (the profiles' images).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

TIMEOUT_SECONDS = 5


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
            "RoleSessionName": os.environ.get("AWS_ROLE_SESSION_NAME") or "sciplat-hub",
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


class AwsError(Exception):
    """An error answer: its code (the exception's short name, e.g. ParameterNotFound) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def json_call(service: str, target: str, payload: dict, region: str) -> dict:
    """One JSON-protocol call (X-Amz-Target), e.g. ("ssm", "AmazonSSM.GetParameter", {...}, region)."""
    url = _endpoint(service, region)
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers=signed_headers(credentials(region), region, service, url, body, headers),
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {}
        code = str(answer.get("__type") or f"HTTP {error.code}").rsplit("#", 1)[-1]
        raise AwsError(code, str(answer.get("message") or answer.get("Message") or text[:300])) from None
