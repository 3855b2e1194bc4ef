"""EKS access entries and the token review (emulator/eks_access.py) without a Kubernetes build.

test_eks_access.py checks the same through a real API server; these ask the emulator's webhook
directly (``POST /_emulator/eks/<cluster>/authenticate``), so they run wherever the emulator runs.
Tokens come from the real ``aws eks get-token``.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import sys
import unittest.mock
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fidelity_support import ROLE_ARN, Client

from emulator.launcher import CLIENT_ENV, Emulator

AWS = str(Path(sys.executable).with_name("aws"))
CREATOR = "arn:aws:iam::123456789012:user/moto"  # moto's identity for the emulator's test credentials
POLICY = "arn:aws:eks::aws:cluster-access-policy/{}"


def get_token(emulator: Emulator, cluster: str, **credentials: str) -> str:
    env = {**os.environ, **emulator.client_env(), **credentials}
    out = subprocess.run(
        [AWS, "--region", "us-east-1", "eks", "get-token", "--cluster-name", cluster, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)["status"]["token"])


def review(emulator: Emulator, cluster: str, token: str, path: str | None = None) -> dict[str, Any]:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    request = urllib.request.Request(
        f"{emulator.endpoint}{path or f'/_emulator/eks/{cluster}/authenticate'}",
        json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200  # webhooks answer 200 either way
        answer = json.load(response)
    assert answer["apiVersion"] == "authentication.k8s.io/v1" and answer["kind"] == "TokenReview"
    return dict(answer["status"])


def presigned(
    emulator: Emulator,
    cluster: str,
    issued: datetime.datetime | None = None,
    expires: int = 60,
    action: str = "GetCallerIdentity",
    base: str | None = None,
) -> str:
    """A token built as `aws eks get-token` builds it, with the date, lifetime and action chosen."""
    auth = SigV4QueryAuth(
        Credentials(CLIENT_ENV["AWS_ACCESS_KEY_ID"], CLIENT_ENV["AWS_SECRET_ACCESS_KEY"]),
        "sts",
        "us-east-1",
        expires,
    )
    request = AWSRequest(
        method="GET",
        url=f"{base or emulator.endpoint}/?Action={action}&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    now = (issued or datetime.datetime.now(datetime.UTC)).replace(tzinfo=None)
    with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=now):
        auth.add_auth(request)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")


def assert_sentence(error: str) -> None:
    assert error and len(error.split()) >= 5, error


@pytest.fixture
def cluster(aws: Client, subnets: list[str], unique: Callable[[str], str]) -> str:
    name = unique("tokens")
    aws("eks").create_cluster(name=name, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    return name


def test_the_creator_gets_a_cluster_admin_entry(aws: Client, cluster: str) -> None:
    eks = aws("eks")
    assert eks.describe_cluster(name=cluster)["cluster"]["accessConfig"] == {
        "bootstrapClusterCreatorAdminPermissions": True,
        "authenticationMode": "API_AND_CONFIG_MAP",
    }
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [CREATOR]
    entry = eks.describe_access_entry(clusterName=cluster, principalArn=CREATOR)["accessEntry"]
    assert entry["username"] == CREATOR and entry["type"] == "STANDARD"
    assert entry["accessEntryArn"].startswith(f"arn:aws:eks:us-east-1:123456789012:access-entry/{cluster}/")
    policies = eks.list_associated_access_policies(clusterName=cluster, principalArn=CREATOR)
    [policy] = policies["associatedAccessPolicies"]
    assert policy["policyArn"] == POLICY.format("AmazonEKSClusterAdminPolicy")
    assert policy["accessScope"]["type"] == "cluster"


def test_no_bootstrap_entry_when_the_request_says_so(
    aws: Client, subnets: list[str], unique: Callable[[str], str]
) -> None:
    eks = aws("eks")
    name = unique("tokens-nobootstrap")
    eks.create_cluster(
        name=name,
        roleArn=ROLE_ARN,
        resourcesVpcConfig={"subnetIds": subnets},
        accessConfig={"bootstrapClusterCreatorAdminPermissions": False},
    )
    assert eks.list_access_entries(clusterName=name)["accessEntries"] == []


def test_access_entry_crud_and_aws_errors(aws: Client, cluster: str) -> None:
    eks = aws("eks")
    role = "arn:aws:iam::123456789012:role/analysts"
    created = eks.create_access_entry(
        clusterName=cluster, principalArn=role, kubernetesGroups=["analysts"], tags={"team": "a"}
    )["accessEntry"]
    assert created["username"] == "arn:aws:sts::123456789012:assumed-role/analysts/{{SessionName}}"
    assert created["kubernetesGroups"] == ["analysts"] and created["tags"] == {"team": "a"}
    assert sorted(eks.list_access_entries(clusterName=cluster)["accessEntries"]) == sorted([CREATOR, role])

    updated = eks.update_access_entry(
        clusterName=cluster, principalArn=role, kubernetesGroups=["readers"], username="analyst"
    )["accessEntry"]
    assert updated["kubernetesGroups"] == ["readers"] and updated["username"] == "analyst"

    eks.associate_access_policy(
        clusterName=cluster,
        principalArn=role,
        policyArn=POLICY.format("AmazonEKSEditPolicy"),
        accessScope={"type": "namespace", "namespaces": ["hub"]},
    )
    filtered = eks.list_access_entries(
        clusterName=cluster, associatedPolicyArn=POLICY.format("AmazonEKSEditPolicy")
    )
    assert filtered["accessEntries"] == [role]
    eks.disassociate_access_policy(
        clusterName=cluster, principalArn=role, policyArn=POLICY.format("AmazonEKSEditPolicy")
    )
    listed = eks.list_associated_access_policies(clusterName=cluster, principalArn=role)
    assert listed["associatedAccessPolicies"] == []

    names = {p["name"]: p["arn"] for p in eks.list_access_policies()["accessPolicies"]}
    for name in (
        "AmazonEKSClusterAdminPolicy",
        "AmazonEKSAdminPolicy",
        "AmazonEKSEditPolicy",
        "AmazonEKSViewPolicy",
    ):
        assert names[name] == POLICY.format(name)

    with pytest.raises(eks.exceptions.ResourceInUseException):
        eks.create_access_entry(clusterName=cluster, principalArn=role)
    with pytest.raises(eks.exceptions.InvalidParameterException, match="principalArn"):
        eks.create_access_entry(clusterName=cluster, principalArn="arn:aws:s3:::bucket")
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.create_access_entry(clusterName="no-such-cluster", principalArn=role)
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_access_entry(clusterName=cluster, principalArn="arn:aws:iam::123456789012:role/none")
    with pytest.raises(eks.exceptions.InvalidParameterException, match="policyArn"):
        eks.associate_access_policy(
            clusterName=cluster,
            principalArn=role,
            policyArn="arn:aws:iam::aws:policy/Admin",
            accessScope={"type": "cluster"},
        )

    eks.delete_access_entry(clusterName=cluster, principalArn=role)
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [CREATOR]
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.delete_access_entry(clusterName=cluster, principalArn=role)


def test_deleting_a_cluster_removes_its_entries(
    aws: Client, cluster: str, fidelity_emulator: Emulator
) -> None:
    eks = aws("eks")
    eks.delete_cluster(name=cluster)
    eks.get_waiter("cluster_deleted").wait(name=cluster, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.list_access_entries(clusterName=cluster)
    error = review(fidelity_emulator, cluster, get_token(fidelity_emulator, cluster))["error"]
    assert cluster in error


def test_the_creators_token_is_accepted_as_cluster_admin(fidelity_emulator: Emulator, cluster: str) -> None:
    token = get_token(fidelity_emulator, cluster)
    assert token.startswith("k8s-aws-v1.")
    for path in (None, f"/_emulator/eks/123456789012/us-east-1/{cluster}/authenticate"):
        status = review(fidelity_emulator, cluster, token, path)
        assert status["authenticated"] is True, status
        user = status["user"]
        assert user["username"] == CREATOR
        assert user["groups"] == ["system:masters", "system:authenticated"]
        # GetCallerIdentity's ARN as moto gives it for keys it does not know (its default user, under sts).
        assert user["extra"]["arn"] in ([CREATOR], ["arn:aws:sts::123456789012:user/moto"])
        assert user["extra"]["accessKeyId"] == [CLIENT_ENV["AWS_ACCESS_KEY_ID"]]
        assert user["uid"].startswith("aws-iam-authenticator:123456789012:")
        assert user["extra"]["canonicalArn"] == [CREATOR]
        assert user["uid"] == f"aws-iam-authenticator:123456789012:{user['extra']['principalId'][0]}"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("garbage", "does not start with 'k8s-aws-v1.'"),
        ("Bearer k8s-aws-v1.abc", "does not start with 'k8s-aws-v1.'"),
        ("k8s-aws-v1.%%%!", "is not base64url of a URL"),
        (
            "k8s-aws-v1."
            + base64.urlsafe_b64encode(b"https://sts.example.org/?Action=GetCallerIdentity").decode(),
            "is not an STS endpoint",
        ),
    ],
)
def test_malformed_tokens_are_refused(
    fidelity_emulator: Emulator, cluster: str, token: str, reason: str
) -> None:
    status = review(fidelity_emulator, cluster, token)
    assert status["authenticated"] is False and reason in status["error"]
    assert "user" not in status
    assert_sentence(status["error"])


def test_a_token_for_another_cluster_is_refused(
    fidelity_emulator: Emulator, cluster: str, aws: Client, subnets: list[str], unique: Callable[[str], str]
) -> None:
    other = unique("tokens-other")
    aws("eks").create_cluster(name=other, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    foreign = get_token(fidelity_emulator, other)
    status = review(fidelity_emulator, cluster, foreign)
    assert status["authenticated"] is False and "made for another cluster" in status["error"]
    assert cluster in status["error"]
    assert review(fidelity_emulator, other, foreign)["authenticated"] is True


def test_an_altered_token_is_refused(fidelity_emulator: Emulator, cluster: str) -> None:
    token = get_token(fidelity_emulator, cluster)
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    tampered = url.replace("Version=2011-06-15", "Version=2011-06-16")
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(tampered.encode()).decode().rstrip("=")
    assert "altered" in review(fidelity_emulator, cluster, token)["error"]


def test_an_expired_token_is_refused(fidelity_emulator: Emulator, cluster: str) -> None:
    issued = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    status = review(fidelity_emulator, cluster, presigned(fidelity_emulator, cluster, issued))
    assert status["authenticated"] is False and "expired" in status["error"]
    assert_sentence(status["error"])
    # 14 minutes old is still good: the 15 minutes count from X-Amz-Date, whatever X-Amz-Expires says.
    recent = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=14)
    assert review(fidelity_emulator, cluster, presigned(fidelity_emulator, cluster, recent))["authenticated"]


def test_a_token_asking_to_live_longer_than_15_minutes_is_refused(
    fidelity_emulator: Emulator, cluster: str
) -> None:
    status = review(fidelity_emulator, cluster, presigned(fidelity_emulator, cluster, expires=3600))
    assert status["authenticated"] is False and "more than 900 s" in status["error"]


def test_a_token_for_another_sts_action_is_refused(fidelity_emulator: Emulator, cluster: str) -> None:
    status = review(
        fidelity_emulator, cluster, presigned(fidelity_emulator, cluster, action="GetSessionToken")
    )
    assert status["authenticated"] is False and "not an STS GetCallerIdentity request" in status["error"]


def test_a_principal_without_an_access_entry_is_refused_until_it_gets_one(
    fidelity_emulator: Emulator, aws: Client, cluster: str, unique: Callable[[str], str]
) -> None:
    iam = aws("iam")
    name = unique("astronomer")
    user = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    token = get_token(fidelity_emulator, cluster, **credentials)

    status = review(fidelity_emulator, cluster, token)
    assert status["authenticated"] is False
    assert user in status["error"] and cluster in status["error"]
    assert "no access entry" in status["error"] and "create-access-entry" in status["error"]

    eks = aws("eks")
    eks.create_access_entry(clusterName=cluster, principalArn=user, kubernetesGroups=["astronomers"])
    eks.associate_access_policy(
        clusterName=cluster,
        principalArn=user,
        policyArn=POLICY.format("AmazonEKSViewPolicy"),
        accessScope={"type": "cluster"},
    )
    status = review(fidelity_emulator, cluster, token)
    assert status["authenticated"] is True, status
    assert status["user"]["username"] == user
    assert status["user"]["groups"] == ["astronomers", "eks:view", "system:authenticated"]
    assert status["user"]["extra"]["accessKeyId"] == [key["AccessKeyId"]]


def test_an_assumed_role_maps_to_its_roles_entry(
    fidelity_emulator: Emulator, aws: Client, cluster: str, unique: Callable[[str], str]
) -> None:
    role_name = unique("operators")
    role = aws("iam").create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    session = aws("sts").assume_role(RoleArn=role, RoleSessionName="alice")["Credentials"]
    credentials = {
        "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
        "AWS_SESSION_TOKEN": session["SessionToken"],
    }
    eks = aws("eks")
    eks.create_access_entry(clusterName=cluster, principalArn=role)
    eks.associate_access_policy(
        clusterName=cluster,
        principalArn=role,
        policyArn=POLICY.format("AmazonEKSAdminPolicy"),
        accessScope={"type": "cluster"},
    )
    status = review(fidelity_emulator, cluster, get_token(fidelity_emulator, cluster, **credentials))
    assert status["authenticated"] is True, status
    assert status["user"]["username"] == f"arn:aws:sts::123456789012:assumed-role/{role_name}/alice"
    assert status["user"]["groups"] == ["eks:admin", "system:authenticated"]
    assert status["user"]["extra"]["arn"] == [f"arn:aws:sts::123456789012:assumed-role/{role_name}/alice"]
    assert status["user"]["extra"]["canonicalArn"] == [role]
    assert status["user"]["extra"]["sessionName"] == ["alice"]


def test_the_short_endpoint_names_a_missing_cluster(fidelity_emulator: Emulator, cluster: str) -> None:
    token = get_token(fidelity_emulator, cluster)
    status = review(fidelity_emulator, "no-such-cluster", token)
    assert status["authenticated"] is False and "no-such-cluster" in status["error"]


@pytest.mark.parametrize("host", ["https://sts.amazonaws.com", "https://sts.us-east-1.amazonaws.com"])
def test_the_public_sts_names_are_accepted(fidelity_emulator: Emulator, cluster: str, host: str) -> None:
    """What `aws eks get-token` gives without an endpoint override: the signature covers the host."""
    status = review(fidelity_emulator, cluster, presigned(fidelity_emulator, cluster, base=host))
    assert status["authenticated"] is True, status


def test_list_operations_page(aws: Client, cluster: str) -> None:
    eks = aws("eks")
    users = [f"arn:aws:iam::123456789012:user/reader-{i}" for i in range(3)]
    for user in users:
        eks.create_access_entry(clusterName=cluster, principalArn=user)
    first = eks.list_access_entries(clusterName=cluster, maxResults=2)
    assert len(first["accessEntries"]) == 2 and first["nextToken"]
    pages = eks.get_paginator("list_access_entries").paginate(
        clusterName=cluster, PaginationConfig={"PageSize": 1}
    )
    assert sorted(arn for page in pages for arn in page["accessEntries"]) == sorted([CREATOR, *users])
    policies = eks.get_paginator("list_access_policies").paginate(PaginationConfig={"PageSize": 3})
    assert len([p for page in policies for p in page["accessPolicies"]]) == 4
    with pytest.raises(eks.exceptions.InvalidParameterException, match="nextToken"):
        eks.list_access_entries(clusterName=cluster, nextToken="not-a-token")
