"""The single-node hub's cost-cap hook, as the role renders it into jupyterhub_config.py.

The spawn checks of templates/single_node/jupyterhub_config.py.j2 (tests/hub_config.py) are
rendered with the cost cap on and run against moto's SSM: cap off (ParameterNotFound) lets the spawn through,
cap on refuses it with the message the spawn page shows (jupyterhub_message, HTTP 403), and an SSM
that cannot be reached lets it through (fail open). The browser test covers the hub itself.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from hub_config import role_module, spawn_checks, spawner
from log_alarms import counted
from moto import mock_aws
from tornado import web

PARAMETER = "/sciplat/unit/cost-cap"


def hook_namespace(contact: str = "ops@example.org") -> dict[str, Any]:
    return spawn_checks(
        jupyterhub_cost_cap_parameter=PARAMETER,
        jupyterhub_cost_cap_region="us-east-1",
        jupyterhub_cost_cap_contact=contact,
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@mock_aws
def test_cap_off_lets_the_spawn_through_and_cap_on_refuses_it(aws: None) -> None:
    namespace = hook_namespace()
    hook = namespace["c"].Spawner.pre_spawn_hook
    assert asyncio.run(hook(spawner())) is None  # no parameter: the cap is off

    record = {
        "enabled": True,
        "since": "2026-11-26T02:00:00+00:00",
        "reason": "budget 110%",
        "node_groups": {},
    }
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Type="String", Value=json.dumps(record)
    )
    namespace["COST_CAP"]._cache["at"] = float("-inf")  # as if the 5 s had passed
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(hook(spawner()))
    assert refused.value.status_code == 403
    # One page (issue 21): why, what the user can do, whom to ask, when to try again; once.
    assert refused.value.jupyterhub_message == (
        "New servers are paused: the site has reached its spending limit. "
        "The site's cost cap has been on since 2026-11-26 02:00 UTC (budget 110%). "
        "Your files are safe. Nothing in your home is changed, and servers already running go on. "
        "Who can tell you more: ops@example.org. "
        "Try again later. New servers start again as soon as the site's operators lift the pause."
    )
    page = refused.value.jupyterhub_html_message
    assert 'data-sciplat-refusal="cost-cap"' in page and page.count("New servers are paused") == 1
    # Within the cache's 5 s a deleted parameter is not read again; after them the spawn goes through.
    boto3.client("ssm", region_name="us-east-1").delete_parameter(Name=PARAMETER)
    with pytest.raises(web.HTTPError):
        asyncio.run(hook(spawner()))
    namespace["COST_CAP"]._cache["at"] = float("-inf")
    assert asyncio.run(hook(spawner())) is None


def test_an_unreachable_ssm_lets_the_spawn_through(
    aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    hook = hook_namespace()["c"].Spawner.pre_spawn_hook
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        assert asyncio.run(hook(spawner())) is None
    assert f"cost cap: cannot read {PARAMETER}" in caplog.text and "letting the spawn through" in caplog.text
    # The operators hear of it: the hub-fail-open alarm's metric filter counts the line.
    assert len(counted("hub-fail-open", caplog.text)) == 1


# --- The reader without boto3 (the EKS hub: the chart's hub image has none) ---------------------------


def test_the_signature_is_botocores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same request signed by the module and by botocore's SigV4Auth carries the same Authorization."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    aws = role_module("sciplat_aws")
    url = "https://ssm.eu-west-2.amazonaws.com/"
    body = json.dumps({"Name": PARAMETER}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"}
    now = datetime.datetime(2026, 12, 5, 6, 1, 2, tzinfo=datetime.UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    for token in ("", "session-token-from-sts"):
        creds = {"key": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG", "token": token}
        ours = aws.signed_headers(creds, "eu-west-2", "ssm", url, body, headers, now=now)
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        signer = botocore.auth.SigV4Auth(
            Credentials(creds["key"], creds["secret"], token or None), "ssm", "eu-west-2"
        )
        signer.add_auth(request)
        assert ours["Authorization"] == request.headers["Authorization"]
    # A different body signs differently (the comparison is not vacuous).
    other = aws.signed_headers(creds, "eu-west-2", "ssm", url, b"{}", headers, now=now)
    assert other["Authorization"] != ours["Authorization"]


def test_the_standard_library_reader_reads_what_boto3_wrote(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    costcap = role_module("sciplat_costcap")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_server)
    with pytest.raises(costcap.ParameterNotFound):
        costcap.get_parameter_stdlib(PARAMETER, "us-east-1")
    ssm.put_parameter(Name=PARAMETER, Type="String", Value='{"enabled": true, "reason": "budget"}')
    assert costcap.get_parameter_stdlib(PARAMETER, "us-east-1") == '{"enabled": true, "reason": "budget"}'
    cap = costcap.CostCap(
        PARAMETER, "us-east-1", "", logging.getLogger("test"), reader=costcap.get_parameter_stdlib
    )
    assert asyncio.run(cap.record()) == {"enabled": True, "reason": "budget"}


def test_the_web_identity_is_exchanged_at_sts(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """IRSA: no keys in the environment, a role and a token file; STS's temporary keys sign the call."""
    costcap, aws = role_module("sciplat_costcap"), role_module("sciplat_aws")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(RuntimeError, match="no AWS credentials"):
        aws.credentials("us-east-1")
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.service-account-token.signature\n")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/site-hub")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    creds = aws.credentials("us-east-1")
    assert creds["key"] and creds["secret"] and creds["token"] and creds["key"] != "testing"
    boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).put_parameter(Name=PARAMETER, Type="String", Value="{}")
    assert costcap.get_parameter_stdlib(PARAMETER, "us-east-1") == "{}"
