"""The single-node hub's cost-cap hook, as the role renders it into jupyterhub_config.py.

The spawn checks of templates/single_node/jupyterhub_config.py.j2 (tests/hub_config.py) are
rendered with the cost cap on and run against moto's SSM: cap off (ParameterNotFound) lets the spawn through,
cap on refuses it with the message the spawn page shows (jupyterhub_message, HTTP 403), and an SSM
that cannot be reached lets it through (fail open). The browser test covers the hub itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import boto3
import pytest
from hub_config import spawn_checks, spawner
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
    namespace["_cost_cap_cache"]["at"] = float("-inf")  # as if the 5 s had passed
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
    namespace["_cost_cap_cache"]["at"] = float("-inf")
    assert asyncio.run(hook(spawner())) is None


def test_an_unreachable_ssm_lets_the_spawn_through(
    aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: connection refused
    hook = hook_namespace()["c"].Spawner.pre_spawn_hook
    with caplog.at_level(logging.WARNING, logger="JupyterHub"):
        assert asyncio.run(hook(spawner())) is None
    assert f"cost cap: cannot read {PARAMETER}" in caplog.text and "letting the spawn through" in caplog.text
