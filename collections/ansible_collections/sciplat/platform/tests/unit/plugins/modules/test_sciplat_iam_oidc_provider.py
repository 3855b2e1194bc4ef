"""sciplat.platform.iam_oidc_provider against moto in-process (and Stubber where moto falls short)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.sciplat.platform.plugins.modules import iam_oidc_provider
from moto import mock_aws

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789ABCDEF"
ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE0123456789ABCDEF"
OTHER = "a" * 40


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def test_create_for_an_eks_issuer(run_module, iam) -> None:
    out = run_module(iam_oidc_provider, {"url": ISSUER, "tags": {"site": "archive"}}, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["arn"] == ARN
    assert out.result["url"] == ISSUER
    assert out.result["client_ids"] == ["sts.amazonaws.com"]
    assert out.result["thumbprints"] == [iam_oidc_provider.EKS_ISSUER_THUMBPRINT]
    assert out.result["tags"] == {"site": "archive"}
    assert out.result["diff"]["before"] == {}
    assert out.result["diff"]["after"]["thumbprints"] == [iam_oidc_provider.EKS_ISSUER_THUMBPRINT]
    stored = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
    assert stored["ClientIDList"] == ["sts.amazonaws.com"]


def test_second_run_changes_nothing(run_module, iam) -> None:
    run_module(iam_oidc_provider, {"url": ISSUER, "tags": {"site": "archive"}})

    out = run_module(iam_oidc_provider, {"url": ISSUER + "/", "tags": {"site": "archive"}}, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["diff"]["before"] == out.result["diff"]["after"]


def test_thumbprints_are_replaced(run_module, iam) -> None:
    run_module(iam_oidc_provider, {"url": ISSUER})

    out = run_module(iam_oidc_provider, {"url": ISSUER, "thumbprints": [OTHER.upper()]}, diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["thumbprints"] == [OTHER]
    assert out.result["diff"]["before"]["thumbprints"] == [iam_oidc_provider.EKS_ISSUER_THUMBPRINT]
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)["ThumbprintList"] == [OTHER]
    again = run_module(iam_oidc_provider, {"url": ISSUER, "thumbprints": [OTHER]})
    assert again.result["changed"] is False


def test_omitted_thumbprints_leave_an_existing_provider_alone(run_module, iam) -> None:
    iam.create_open_id_connect_provider(
        Url=ISSUER, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[OTHER]
    )

    out = run_module(iam_oidc_provider, {"url": ISSUER})

    assert out.result["changed"] is False, out.result
    assert out.result["thumbprints"] == [OTHER]


def test_tags_are_set_and_purged(run_module, iam) -> None:
    run_module(iam_oidc_provider, {"url": ISSUER, "tags": {"a": "1", "b": "2"}})

    out = run_module(iam_oidc_provider, {"url": ISSUER, "tags": {"b": "3", "c": "4"}})
    assert out.result["changed"] is True, out.result
    assert out.result["tags"] == {"b": "3", "c": "4"}

    kept = run_module(iam_oidc_provider, {"url": ISSUER, "tags": {"d": "5"}, "purge_tags": False})
    assert kept.result["tags"] == {"b": "3", "c": "4", "d": "5"}

    untouched = run_module(iam_oidc_provider, {"url": ISSUER})
    assert untouched.result["changed"] is False
    assert untouched.result["tags"] == {"b": "3", "c": "4", "d": "5"}


def test_check_mode_create_changes_nothing(run_module, iam) -> None:
    out = run_module(iam_oidc_provider, {"url": ISSUER}, check_mode=True, diff=True)

    assert out.result["changed"] is True, out.result
    assert out.result["diff"]["after"]["url"] == ISSUER
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_check_mode_update_changes_nothing(run_module, iam) -> None:
    run_module(iam_oidc_provider, {"url": ISSUER})

    out = run_module(
        iam_oidc_provider, {"url": ISSUER, "thumbprints": [OTHER], "tags": {"x": "y"}}, check_mode=True
    )

    assert out.result["changed"] is True, out.result
    stored = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
    assert stored["ThumbprintList"] == [iam_oidc_provider.EKS_ISSUER_THUMBPRINT]
    assert stored.get("Tags", []) == []


def test_delete(run_module, iam) -> None:
    run_module(iam_oidc_provider, {"url": ISSUER})

    check = run_module(iam_oidc_provider, {"url": ISSUER, "state": "absent"}, check_mode=True)
    assert check.result["changed"] is True
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1

    out = run_module(iam_oidc_provider, {"url": ISSUER, "state": "absent"})
    assert out.result["changed"] is True, out.result
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []

    again = run_module(iam_oidc_provider, {"url": ISSUER, "state": "absent"})
    assert again.result["changed"] is False


def test_only_the_provider_for_the_url_is_touched(run_module, iam) -> None:
    other = "https://oidc.eks.us-east-1.amazonaws.com/id/OTHER0123456789ABCDEF"
    iam.create_open_id_connect_provider(Url=other, ClientIDList=["x"], ThumbprintList=[OTHER])

    run_module(iam_oidc_provider, {"url": ISSUER})
    run_module(iam_oidc_provider, {"url": ISSUER, "state": "absent"})

    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert arns == [ARN.replace("EXAMPLE0123456789ABCDEF", "OTHER0123456789ABCDEF")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"url": "http://oidc.example.org"}, "url must start with https://"),
        ({"url": "https://"}, "url must be an issuer URL with a host"),
        ({"url": "https://issuer.example.org/?a=b"}, "no query or fragment"),
        ({"thumbprints": ["ab:cd"]}, "thumbprints must be SHA-1 fingerprints of 40 hexadecimal characters"),
        ({"thumbprints": []}, "thumbprints must list 1 to 5 fingerprints"),
        (
            {"thumbprints": [f"{i:040x}" for i in range(6)]},
            "thumbprints must list 1 to 5 fingerprints, got 6",
        ),
        ({"client_ids": [""]}, "client_ids entries must be 1 to 255 characters long"),
        ({"state": "gone"}, "value of state must be one of: present, absent"),
    ],
)
def test_bad_parameters_fail_before_any_call(run_module, stubs, extra: dict[str, Any], message: str) -> None:
    out = run_module(iam_oidc_provider, {"url": ISSUER, **extra})

    assert out.failed
    assert message in out.result["msg"]
    stubs.assert_done()  # no AWS call was queued, none was made


# --- moto has no Add/RemoveClientIDToOpenIDConnectProvider: Stubber ------------------------------


def provider_answer(client_ids: list[str]) -> dict[str, Any]:
    return {
        "Url": ISSUER.removeprefix("https://"),
        "ClientIDList": client_ids,
        "ThumbprintList": [iam_oidc_provider.EKS_ISSUER_THUMBPRINT],
        "Tags": [],
    }


def test_client_ids_are_added_before_removed(run_module, stubs) -> None:
    arn = {"OpenIDConnectProviderArn": ARN}
    stubs.add("iam", "list_open_id_connect_providers", {"OpenIDConnectProviderList": [{"Arn": ARN}]})
    stubs.add(
        "iam", "get_open_id_connect_provider", provider_answer(["old-audience", "sts.amazonaws.com"]), arn
    )
    stubs.add("iam", "add_client_id_to_open_id_connect_provider", {}, {**arn, "ClientID": "new-audience"})
    stubs.add(
        "iam", "remove_client_id_from_open_id_connect_provider", {}, {**arn, "ClientID": "old-audience"}
    )
    stubs.add(
        "iam", "get_open_id_connect_provider", provider_answer(["new-audience", "sts.amazonaws.com"]), arn
    )

    out = run_module(
        iam_oidc_provider, {"url": ISSUER, "client_ids": ["sts.amazonaws.com", "new-audience"]}, diff=True
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["client_ids"] == ["new-audience", "sts.amazonaws.com"]
    assert out.result["diff"]["before"]["client_ids"] == ["old-audience", "sts.amazonaws.com"]
    stubs.assert_done()


def test_non_eks_issuer_without_thumbprints_lets_iam_compute_them(run_module, stubs) -> None:
    url = "https://token.actions.githubusercontent.com"
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    stubs.add("iam", "list_open_id_connect_providers", {"OpenIDConnectProviderList": []})
    stubs.add(
        "iam",
        "create_open_id_connect_provider",
        {"OpenIDConnectProviderArn": arn},
        {"Url": url, "ClientIDList": ["sts.amazonaws.com"]},  # no ThumbprintList
    )
    stubs.add(
        "iam",
        "get_open_id_connect_provider",
        {
            "Url": "token.actions.githubusercontent.com",
            "ClientIDList": ["sts.amazonaws.com"],
            "ThumbprintList": [OTHER],
        },
        {"OpenIDConnectProviderArn": arn},
    )

    out = run_module(iam_oidc_provider, {"url": url})

    assert not out.failed, out.result
    assert out.result["thumbprints"] == [OTHER]
    stubs.assert_done()


def test_aws_errors_are_reported_in_one_line(run_module, stubs) -> None:
    stubs.error("iam", "list_open_id_connect_providers", "AccessDenied", "not allowed", 403)

    out = run_module(iam_oidc_provider, {"url": ISSUER})

    assert out.failed
    assert out.result["msg"].startswith(f"Couldn't list the IAM OIDC provider for {ISSUER}: ")
    assert "not allowed" in out.result["msg"]
