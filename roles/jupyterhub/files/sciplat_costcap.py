"""The site's cost cap as the hub reads it before each spawn (docs/cost.md, `runbook run cost-cap`).

While the SSM parameter exists, new servers are refused with its reason; running servers are not
touched. An error reading it lets the spawn through (fail open) and is logged: a broken SSM call must
not lock every user out.

Both backends load this file beside jupyterhub_config.py. The single-node hub's venv has boto3 (it
finds the host's instance profile). The zero-to-jupyterhub hub image has no boto3, so there the
parameter is read with the standard library (sciplat_aws.py: Signature Version 4, the environment's
credentials or the service account's web identity).
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import sciplat_aws

TIMEOUT_SECONDS = sciplat_aws.TIMEOUT_SECONDS


class ParameterNotFound(Exception):
    """The parameter does not exist: the cap is off."""


def get_parameter_stdlib(name: str, region: str) -> str:
    """SSM GetParameter with the standard library; ParameterNotFound when it does not exist."""
    try:
        answer = sciplat_aws.json_call("ssm", "AmazonSSM.GetParameter", {"Name": name}, region)
    except sciplat_aws.AwsError as error:
        if error.code == "ParameterNotFound":
            raise ParameterNotFound(name) from None
        raise RuntimeError(f"SSM GetParameter {name}: {error}") from None
    return answer["Parameter"]["Value"]


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
                    "cost cap: cannot read %s (%s); failing open, letting the spawn through",
                    self.parameter,
                    error,
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
