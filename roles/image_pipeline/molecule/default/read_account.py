"""Print the image pipeline's resources as JSON, read with boto3: python read_account.py REGION."""

from __future__ import annotations

import hashlib
import json
import sys

import boto3
from botocore.exceptions import ClientError


def main() -> int:
    region = sys.argv[1]
    ecr = boto3.client("ecr", region_name=region)
    repositories = {}
    for repository in ecr.describe_repositories()["repositories"]:
        name = repository["repositoryName"]
        try:
            policy = ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
        except ClientError:
            policy = "{}"
        repositories[name] = {
            "scan_on_push": repository["imageScanningConfiguration"]["scanOnPush"],
            "mutability": repository["imageTagMutability"],
            "mutability_exclusions": sorted(
                f["filter"] for f in repository.get("imageTagMutabilityExclusionFilters", [])
            ),
            "lifecycle_policy": policy,
        }
    codebuild = boto3.client("codebuild", region_name=region)
    names = codebuild.list_projects()["projects"]
    projects = {p["name"]: p for p in codebuild.batch_get_projects(names=names)["projects"]} if names else {}
    iam = boto3.client("iam", region_name=region)
    role_policies = iam.list_role_policies(RoleName="molecule-image-build")["PolicyNames"]
    trust = iam.get_role(RoleName="molecule-image-build")["Role"]["AssumeRolePolicyDocument"]
    smoke_role = iam.get_role(RoleName="molecule-image-smoke")["Role"]
    smoke_policy = iam.get_role_policy(RoleName="molecule-image-smoke", PolicyName="image-smoke")
    s3 = boto3.client("s3", region_name=region)
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    bucket = next(name for name in buckets if name.startswith("molecule-image-smoke-"))
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    # The storage notice's wheels the builds copy into their context: key -> sha256 of the content.
    notice = {
        item["Key"]: hashlib.sha256(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()).hexdigest()
        for item in s3.list_objects_v2(Bucket=bucket, Prefix="storage-notice/").get("Contents", [])
    }
    print(
        json.dumps(
            {
                "repositories": repositories,
                "projects": projects,
                "role_policies": role_policies,
                "trust": trust,
                "smoke_role": {"arn": smoke_role["Arn"], "trust": smoke_role["AssumeRolePolicyDocument"]},
                "smoke_policy": smoke_policy["PolicyDocument"],
                "bucket_public_access_blocked": all(block.values()),
                "storage_notice_objects": notice,
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
