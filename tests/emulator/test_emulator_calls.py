"""The emulator counts the AWS API calls it answers, named as the SDK names them (make bench's
figure: the calls of a no-op converge)."""

from __future__ import annotations

from collections import Counter

import pytest
from fidelity_support import Client

from emulator.launcher import Emulator

pytestmark = pytest.mark.emulator


def test_every_protocol_s_calls_are_counted_by_service_and_operation(
    aws: Client, fidelity_emulator: Emulator
) -> None:
    before = Counter(fidelity_emulator.calls())
    ec2, logs, eks, efs, s3 = aws("ec2"), aws("logs"), aws("eks"), aws("efs"), aws("s3")
    ec2.describe_vpcs()  # query protocol, the action in the body
    ec2.describe_vpcs()
    logs.describe_log_groups()  # JSON protocol (X-Amz-Target)
    eks.list_clusters()  # REST: method and path, matched in botocore's model
    efs.describe_file_systems()
    bucket = "calls-counted"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"x")
    s3.copy_object(Bucket=bucket, Key="c.txt", CopySource={"Bucket": bucket, "Key": "a/b.txt"})
    s3.list_objects_v2(Bucket=bucket)
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_cluster(name="no-such-cluster")  # an error is a call too

    after = Counter(fidelity_emulator.calls())
    assert after - before == Counter(
        {
            "ec2 DescribeVpcs": 2,
            "logs DescribeLogGroups": 1,
            "eks ListClusters": 1,
            "eks DescribeCluster": 1,
            "elasticfilesystem DescribeFileSystems": 1,
            "s3 CreateBucket": 1,
            "s3 PutObject": 1,
            "s3 CopyObject": 1,
            "s3 ListObjectsV2": 1,
        }
    )
