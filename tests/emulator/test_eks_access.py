"""EKS access entries and tokens (emulator/eks_access.py), checked through a real API server.

Tokens come from the real `aws eks get-token` (the kubeconfig's credential plugin); the API server
asks the emulator's token review; the answer decides the HTTP status the caller sees.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from kube_support import create_cluster, delete_in_background, subnets, wait_for

from emulator.kube import build
from emulator.launcher import CLIENT_ENV, Emulator

pytestmark = pytest.mark.skipif(bool(build.missing()), reason="Kubernetes components not built (make kube)")

AWS = str(Path(sys.executable).with_name("aws"))
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


def eks(emulator: Emulator, env: dict[str, str] | None = None) -> Any:
    import boto3

    env = env or {}
    return boto3.client(
        "eks",
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", CLIENT_ENV["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", CLIENT_ENV["AWS_SECRET_ACCESS_KEY"]),
    )


def get_token(emulator: Emulator, cluster: str, **credentials: str) -> str:
    env = {**os.environ, **emulator.client_env(), **credentials}
    out = subprocess.run(
        [AWS, "eks", "get-token", "--cluster-name", cluster, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)["status"]["token"])


def api_status(cluster: dict[str, Any], token: str, tmp_path: Path, path: str = "/api/v1/namespaces") -> int:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificateAuthority"]["data"]))
    request = urllib.request.Request(cluster["endpoint"] + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(ca)), timeout=15):
            return 200
    except urllib.error.HTTPError as error:
        return error.code


def review(emulator: Emulator, cluster: str, token: str) -> dict[str, Any]:
    body = json.dumps(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    )
    request = urllib.request.Request(
        f"{emulator.endpoint}/_emulator/eks/123456789012/us-east-1/{cluster}/authenticate",
        body.encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response)["status"])


@pytest.fixture(scope="module")
def clusters(kube_emulator: Emulator) -> Iterator[dict[str, dict[str, Any]]]:
    subnet_ids = subnets(kube_emulator)
    made = {name: create_cluster(kube_emulator, name, subnet_ids) for name in ("tokens-a", "tokens-b")}
    yield made
    delete_in_background(kube_emulator, made)


def test_the_creator_is_an_admin_and_its_token_opens_the_api(
    kube_emulator: Emulator, clusters: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    client = eks(kube_emulator)
    assert clusters["tokens-a"]["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    creator = "arn:aws:iam::123456789012:user/moto"  # moto's identity for the emulator's test credentials
    assert client.list_access_entries(clusterName="tokens-a")["accessEntries"] == [creator]
    policies = client.list_associated_access_policies(clusterName="tokens-a", principalArn=creator)
    assert [p["policyArn"] for p in policies["associatedAccessPolicies"]] == [ADMIN_POLICY]

    token = get_token(kube_emulator, "tokens-a")
    assert token.startswith("k8s-aws-v1.")
    assert api_status(clusters["tokens-a"], token, tmp_path) == 200
    status = review(kube_emulator, "tokens-a", token)
    assert status["authenticated"] is True
    assert "system:masters" in status["user"]["groups"]


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-an-eks-token", "does not start with 'k8s-aws-v1.'"),
        ("k8s-aws-v1.%%%", "not base64url"),
        (
            "k8s-aws-v1."
            + base64.urlsafe_b64encode(b"https://example.org/?Action=GetCallerIdentity").decode(),
            "not an STS endpoint",
        ),
    ],
)
def test_malformed_tokens_are_refused_with_the_reason(
    kube_emulator: Emulator, clusters: dict[str, dict[str, Any]], tmp_path: Path, token: str, reason: str
) -> None:
    assert api_status(clusters["tokens-a"], token, tmp_path) == 401
    status = review(kube_emulator, "tokens-a", token)
    assert status["authenticated"] is False and reason in status["error"]


def test_a_token_for_another_cluster_is_refused(
    kube_emulator: Emulator, clusters: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    foreign = get_token(kube_emulator, "tokens-b")
    assert api_status(clusters["tokens-a"], foreign, tmp_path) == 401
    assert "made for another cluster" in review(kube_emulator, "tokens-a", foreign)["error"]
    assert api_status(clusters["tokens-b"], foreign, tmp_path) == 200


def test_an_expired_token_is_refused(kube_emulator: Emulator, clusters: dict[str, dict[str, Any]]) -> None:
    """A URL presigned 20 minutes ago, exactly as `aws eks get-token` presigns it."""
    issued = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    auth = SigV4QueryAuth(
        Credentials(CLIENT_ENV["AWS_ACCESS_KEY_ID"], CLIENT_ENV["AWS_SECRET_ACCESS_KEY"]),
        "sts",
        "us-east-1",
        60,
    )
    request = AWSRequest(
        method="GET",
        url=f"{kube_emulator.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": "tokens-a"},
    )
    import unittest.mock

    with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=issued.replace(tzinfo=None)):
        auth.add_auth(request)
    assert "X-Amz-Date=" + issued.strftime("%Y%m%dT%H%M") in request.url
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")
    status = review(kube_emulator, "tokens-a", token)
    assert status["authenticated"] is False and "expired" in status["error"]


def test_a_principal_without_an_access_entry_is_refused_until_it_gets_one(
    kube_emulator: Emulator, clusters: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=kube_emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    user = iam.create_user(UserName="astronomer")["User"]["Arn"]
    key = iam.create_access_key(UserName="astronomer")["AccessKey"]
    credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    token = get_token(kube_emulator, "tokens-a", **credentials)

    assert api_status(clusters["tokens-a"], token, tmp_path) == 401
    error = review(kube_emulator, "tokens-a", token)["error"]
    assert user in error and "no access entry" in error and "create-access-entry" in error

    client = eks(kube_emulator)
    client.create_access_entry(clusterName="tokens-a", principalArn=user)
    client.associate_access_policy(
        clusterName="tokens-a", principalArn=user, policyArn=VIEW_POLICY, accessScope={"type": "cluster"}
    )
    # The API server caches a refusal for a short while: wait for the new answer.
    wait_for(lambda: api_status(clusters["tokens-a"], token, tmp_path) == 200, 60, "the viewer to get in")
    assert api_status(clusters["tokens-a"], token, tmp_path, "/api/v1/namespaces/default/secrets") == 403


def test_access_entry_errors_are_aws_shaped(
    kube_emulator: Emulator, clusters: dict[str, dict[str, Any]]
) -> None:
    client = eks(kube_emulator)
    creator = "arn:aws:iam::123456789012:user/moto"
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.create_access_entry(clusterName="tokens-b", principalArn=creator)
    with pytest.raises(client.exceptions.InvalidParameterException, match="principalArn"):
        client.create_access_entry(clusterName="tokens-b", principalArn="not-an-arn")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_access_entry(
            clusterName="tokens-b", principalArn="arn:aws:iam::123456789012:role/none"
        )
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_access_entries(clusterName="no-such-cluster")
    client.delete_access_entry(clusterName="tokens-b", principalArn=creator)
    assert client.list_access_entries(clusterName="tokens-b")["accessEntries"] == []
