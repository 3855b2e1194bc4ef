"""Make what the role watches (it stands alone): an EKS cluster with a user node group, an EFS file
system, a backup vault, an SQS queue to subscribe to the topic and a KMS key of the operators' own
for the us-east-1 topic; and two alarms under the site's
name prefix: one of another site whose name starts the same (molecule-dev, kept by a converge), one
of this site that it no longer asks for (deleted). Prints their names as YAML.

Usage: prepare.py REGION
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import boto3


def given_topic_key(kms: Any, account: str) -> str:
    """A key of the operators' own for the us-east-1 topic (cloudwatch_alarms_kms_key_arns): its ARN."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
        ],
    }
    key = kms.create_key(Description="operators' key for the global alarms topic", Policy=json.dumps(policy))
    return str(key["KeyMetadata"]["Arn"])


def main(region: str) -> str:
    session = boto3.session.Session(region_name=region)
    eks, efs, sqs, backup = (session.client(s) for s in ("eks", "efs", "sqs", "backup"))
    eks.create_cluster(
        name="molecule-hub",
        roleArn="arn:aws:iam::123456789012:role/molecule-cluster",
        resourcesVpcConfig={"subnetIds": ["subnet-0a", "subnet-0b"]},
    )
    deadline = time.monotonic() + 120
    while eks.describe_cluster(name="molecule-hub")["cluster"]["status"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise SystemExit("cluster not ACTIVE in 120 s")
        time.sleep(1)
    eks.create_nodegroup(
        clusterName="molecule-hub",
        nodegroupName="user",
        nodeRole="arn:aws:iam::123456789012:role/molecule-node",
        subnets=["subnet-0a", "subnet-0b"],
        scalingConfig={"minSize": 0, "maxSize": 4, "desiredSize": 0},
    )
    file_system = efs.create_file_system(CreationToken="molecule-homes")["FileSystemId"]
    backup.create_backup_vault(BackupVaultName="molecule-homes")
    queue = sqs.create_queue(QueueName="molecule-alarms")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    cloudwatch = session.client("cloudwatch")
    for name, tags in (
        ("molecule-dev-node-cpu", {"Site": "molecule-dev", "Owner": "platform-team"}),
        ("molecule-retired-check", {"Site": "molecule", "Owner": "platform-team"}),
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/EC2",
            MetricName="CPUUtilization",
            Statistic="Average",
            Period=300,
            EvaluationPeriods=1,
            Threshold=90,
            ComparisonOperator="GreaterThanThreshold",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    account = session.client("sts").get_caller_identity()["Account"]
    given_key = given_topic_key(session.client("kms", region_name="us-east-1"), account)
    return (
        f"cloudwatch_alarms_test_given_key_arn: {given_key}\n"
        f"cloudwatch_alarms_test_fs_id: {file_system}\n"
        f"cloudwatch_alarms_test_queue_url: {queue}\n"
        f"cloudwatch_alarms_test_queue_arn: {queue_arn}\n"
    )


if __name__ == "__main__":
    print(main(sys.argv[1]), end="")
