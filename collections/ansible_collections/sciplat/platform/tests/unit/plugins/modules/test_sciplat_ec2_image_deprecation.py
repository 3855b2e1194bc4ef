"""sciplat.platform.ec2_image_deprecation, with stubbed EC2 answers (moto has no image deprecation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ansible_collections.sciplat.platform.plugins.modules import ec2_image_deprecation

IMAGE = "ami-0123456789abcdef0"
NOW = datetime(2026, 11, 25, 12, 0, 20, tzinfo=UTC)
ENABLED = {"ImageId": IMAGE, "DeprecateAt": "2026-11-25T12:01:00Z"}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ec2_image_deprecation, "_now", lambda: NOW)


def described(stubs: Any, deprecation: str | None = None) -> None:
    image: dict[str, Any] = {"ImageId": IMAGE, "Name": "demo"}
    if deprecation:
        image["DeprecationTime"] = deprecation
    stubs.add("ec2", "describe_images", {"Images": [image]}, {"ImageIds": [IMAGE], "IncludeDeprecated": True})


def test_deprecates_from_the_next_minute(run_module, stubs) -> None:
    described(stubs)
    stubs.add("ec2", "enable_image_deprecation", {"Return": True}, ENABLED)
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE}, diff=True)
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["deprecation_time"] == "2026-11-25T12:01:00.000Z"
    assert out.result["diff"] == {
        "before": {"deprecation_time": None},
        "after": {"deprecation_time": "2026-11-25T12:01:00.000Z"},
    }
    stubs.assert_done()


def test_an_image_deprecated_already_is_left_alone(run_module, stubs) -> None:
    described(stubs, "2026-11-20T08:00:00.000Z")
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE})
    assert out.result["changed"] is False
    assert out.result["deprecation_time"] == "2026-11-20T08:00:00.000Z"
    stubs.assert_done()


def test_a_later_deprecation_is_brought_forward(run_module, stubs) -> None:
    described(stubs, "2027-06-01T00:00:00.000Z")
    stubs.add("ec2", "enable_image_deprecation", {"Return": True}, ENABLED)
    assert run_module(ec2_image_deprecation, {"image_id": IMAGE}).result["changed"] is True
    stubs.assert_done()


def test_a_given_time_is_rounded_and_compared_to_the_minute(run_module, stubs) -> None:
    described(stubs, "2026-12-31T23:59:00.000Z")
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE, "deprecate_at": "2026-12-31T23:58:45Z"})
    assert out.result["changed"] is False
    stubs.assert_done()


def test_check_mode_only_reads(run_module, stubs) -> None:
    described(stubs)
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE}, check_mode=True)
    assert out.result["changed"] is True
    stubs.assert_done()


def test_absent_cancels_the_deprecation(run_module, stubs) -> None:
    described(stubs, "2026-11-20T08:00:00.000Z")
    stubs.add("ec2", "disable_image_deprecation", {"Return": True}, {"ImageId": IMAGE})
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE, "state": "absent"})
    assert out.result["changed"] is True
    assert out.result["deprecation_time"] is None
    stubs.assert_done()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"deprecate_at": "next tuesday"}, "deprecate_at must be a UTC time"),
        ({"deprecate_at": "2020-01-01T00:00:00Z"}, "in the past"),
    ],
)
def test_bad_times_fail_before_any_change(run_module, stubs, args: dict[str, Any], message: str) -> None:
    described(stubs)
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE, **args})
    assert out.failed
    assert message in out.result["msg"]
    stubs.assert_done()


def test_a_missing_image_is_named(run_module, stubs) -> None:
    stubs.error("ec2", "describe_images", "InvalidAMIID.NotFound", f"The image id '[{IMAGE}]' does not exist")
    out = run_module(ec2_image_deprecation, {"image_id": IMAGE})
    assert out.failed
    assert f"there is no image {IMAGE}" in out.result["msg"]
