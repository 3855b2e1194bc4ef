"""Fixtures for the unit tests of sciplat.platform's modules.

Modules run the way Ansible runs them: arguments through ``patch_module_args``, ``main()`` called,
the result taken from ``exit_json`` / ``fail_json``. AWS answers come either from botocore's
Stubber (for what moto cannot serve: EKS add-ons, update tracking, failure states) or from moto
in-process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

# .../collections/ansible_collections/sciplat/platform/tests/unit/conftest.py -> .../collections
COLLECTIONS_ROOT = Path(__file__).resolve().parents[5]
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))


def _install_collection_loader() -> None:
    """Import ``ansible_collections.*`` through Ansible's own collection finder.

    Other code in the same pytest process (the runbooks load inventories) installs that finder
    too; a plain namespace-package import of ``ansible_collections`` made first would break it.
    Whoever comes second finds it configured (a second init is only a Python warning).
    """
    from ansible.utils.collection_loader._collection_config import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None:
        from ansible.plugins.loader import init_plugin_loader

        init_plugin_loader([str(COLLECTIONS_ROOT)])


_install_collection_loader()

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import (  # noqa: E402
    RetryingBotoClientWrapper,
)
from ansible_collections.sciplat.platform.plugins.module_utils import waiting  # noqa: E402

REGION = "us-east-1"


class ModuleExit(Exception):
    def __init__(self, result: dict[str, Any], failed: bool) -> None:
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def _exit_json(self: Any, **kwargs: Any) -> None:
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs, failed=False)


def _fail_json(self: Any, msg: str = "", **kwargs: Any) -> None:
    kwargs["msg"] = msg
    kwargs["failed"] = True
    raise ModuleExit(kwargs, failed=True)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, and no endpoint or profile leaking in from the shell."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def run_module(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleExit]:
    """``run_module(module, args, check_mode=False, diff=False)`` -> ModuleExit (result, failed)."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def run(
        module: ModuleType, args: dict[str, Any], *, check_mode: bool = False, diff: bool = False
    ) -> ModuleExit:
        full = {"region": REGION, **args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        with patch_module_args(full), pytest.raises(ModuleExit) as caught:
            module.main()
        return caught.value

    return run


class FakeClock:
    """Replaces the clock and sleep of module_utils/waiting.py: sleeping moves time on instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(waiting, "_now", fake.time)
    monkeypatch.setattr(waiting, "_sleep", fake.sleep)
    return fake


class Stubs:
    """Stubbed boto3 clients handed to modules through AnsibleAWSModule.client."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def stubber(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = boto3.client(service, region_name=REGION)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def add(
        self, service: str, method: str, response: dict[str, Any], expected: dict[str, Any] | None = None
    ) -> None:
        self.stubber(service).add_response(method, response, expected)

    def error(
        self,
        service: str,
        method: str,
        code: str,
        message: str = "",
        status: int = 400,
        expected: dict[str, Any] | None = None,
    ) -> None:
        self.stubber(service).add_client_error(
            method,
            service_error_code=code,
            service_message=message,
            http_status_code=status,
            expected_params=expected,
        )

    def client(self, service: str, retry_decorator: Any = None, **_: Any) -> Any:
        """Stands in for AnsibleAWSModule.client (set on the class, so no module argument)."""
        self.stubber(service)
        client = self.clients[service]
        return client if retry_decorator is None else RetryingBotoClientWrapper(client, retry_decorator)

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    """Queue AWS answers with ``stubs.add(service, method, response, expected_params)``.

    Any call that was not queued fails the test (Stubber raises), so a test that queues only
    reads proves the module made no mutating call.
    """
    holder = Stubs()
    monkeypatch.setattr(AnsibleAWSModule, "client", holder.client)
    yield holder
    for stubber in holder.stubbers.values():
        stubber.deactivate()
