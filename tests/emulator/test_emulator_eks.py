"""EKS as AWS answers it: add-ons, tracked updates, and the cluster / node group fields moto leaves out."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from botocore.exceptions import ClientError
from fidelity_support import ROLE_ARN, Client, fast, scaled

from emulator.launcher import Emulator

pytestmark = pytest.mark.emulator

Names = Callable[[str], str]
Slowed = Callable[[str], AbstractContextManager[None]]


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def test_addon_versions_catalogue_has_one_default_per_kubernetes_version(aws: Client) -> None:
    addons = aws("eks").describe_addon_versions(kubernetesVersion="1.31")["addons"]
    assert {a["addonName"] for a in addons} == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "aws-ebs-csi-driver",
        "aws-efs-csi-driver",
        "amazon-cloudwatch-observability",
    }
    for addon in addons:
        defaults = [
            v["addonVersion"]
            for v in addon["addonVersions"]
            for c in v["compatibilities"]
            if c["clusterVersion"] == "1.31" and c["defaultVersion"]
        ]
        assert len(defaults) == 1, addon["addonName"]
    [efs] = aws("eks").describe_addon_versions(addonName="aws-efs-csi-driver")["addons"]
    assert efs["addonVersions"][0]["requiresIamPermissions"] is True


def test_addon_lifecycle_create_update_tag_delete(aws: Client, cluster: str, slowed: Slowed) -> None:
    eks = aws("eks")
    role = "arn:aws:iam::123456789012:role/efs-csi"
    created = eks.create_addon(
        clusterName=cluster,
        addonName="vpc-cni",
        serviceAccountRoleArn=role,
        resolveConflicts="OVERWRITE",
        configurationValues='{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}',
        tags={"site": "local"},
    )["addon"]
    assert created["status"] == "CREATING"
    assert created["addonVersion"] == "v1.19.2-eksbuild.1"  # the default for the cluster's version
    eks.get_waiter("addon_active").wait(clusterName=cluster, addonName="vpc-cni", WaiterConfig=fast())
    described = eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]
    assert described["serviceAccountRoleArn"] == role
    assert described["configurationValues"] == '{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}'
    assert eks.list_addons(clusterName=cluster)["addons"] == ["vpc-cni"]

    arn = described["addonArn"]
    eks.tag_resource(resourceArn=arn, tags={"owner": "ops"})
    eks.untag_resource(resourceArn=arn, tagKeys=["site"])
    assert eks.list_tags_for_resource(resourceArn=arn)["tags"] == {"owner": "ops"}

    with slowed("eks::addon.update"):
        update = eks.update_addon(clusterName=cluster, addonName="vpc-cni", addonVersion="v1.20.1-eksbuild.3")
    update = update["update"]
    assert (update["type"], update["status"]) == ("AddonUpdate", "InProgress")
    assert eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as busy:
        eks.update_addon(clusterName=cluster, addonName="vpc-cni")
    assert error_code(busy) == "ResourceInUseException"
    eks.get_waiter("addon_active").wait(clusterName=cluster, addonName="vpc-cni", WaiterConfig=fast())
    described_update = eks.describe_update(name=cluster, updateId=update["id"], addonName="vpc-cni")
    assert described_update["update"]["status"] == "Successful"

    assert eks.delete_addon(clusterName=cluster, addonName="vpc-cni")["addon"]["status"] == "DELETING"
    eks.get_waiter("addon_deleted").wait(clusterName=cluster, addonName="vpc-cni", WaiterConfig=fast())
    assert eks.list_addons(clusterName=cluster)["addons"] == []


def test_listing_the_node_groups_of_an_unknown_cluster_is_not_found(aws: Client) -> None:
    """As on AWS (a new site's check run reads the node groups of a cluster not made yet)."""
    with pytest.raises(ClientError) as unknown:
        aws("eks").list_nodegroups(clusterName="no-such-cluster")
    assert error_code(unknown) == "ResourceNotFoundException"
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_addon_errors_are_aws_errors(aws: Client, cluster: str, subnets: list[str], unique: Names) -> None:
    eks = aws("eks")
    with pytest.raises(ClientError) as unknown:
        eks.create_addon(clusterName=cluster, addonName="no-such-addon")
    assert error_code(unknown) == "InvalidParameterException"
    with pytest.raises(ClientError) as bad_version:  # a coredns for Kubernetes 1.29-1.30, on a 1.33 cluster
        eks.create_addon(clusterName=cluster, addonName="coredns", addonVersion="v1.11.1-eksbuild.8")
    assert error_code(bad_version) == "InvalidParameterException"
    eks.create_addon(clusterName=cluster, addonName="kube-proxy")
    with pytest.raises(ClientError) as twice:
        eks.create_addon(clusterName=cluster, addonName="kube-proxy")
    assert error_code(twice) == "ResourceInUseException"
    with pytest.raises(ClientError) as missing:
        eks.describe_addon(clusterName=cluster, addonName="coredns")
    assert error_code(missing) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_cluster:
        eks.create_addon(clusterName="no-such-cluster", addonName="coredns")
    assert error_code(no_cluster) == "ResourceNotFoundException"

    creating = unique("c")
    eks.create_cluster(name=creating, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    with pytest.raises(ClientError) as not_ready:
        eks.create_addon(clusterName=creating, addonName="vpc-cni")
    assert error_code(not_ready) == "InvalidRequestException"


def test_coredns_stays_creating_until_a_node_group_is_active(
    aws: Client, fidelity_emulator: Emulator, cluster: str, subnets: list[str]
) -> None:
    eks = aws("eks")
    eks.create_addon(clusterName=cluster, addonName="coredns")
    time.sleep(scaled("eks::addon.create") * 2)
    waiting = eks.describe_addon(clusterName=cluster, addonName="coredns")["addon"]
    assert waiting["status"] == "CREATING"
    assert [issue["code"] for issue in waiting["health"]["issues"]] == ["InsufficientNumberOfReplicas"]

    eks.create_nodegroup(clusterName=cluster, nodegroupName="core", nodeRole=ROLE_ARN, subnets=subnets)
    eks.get_waiter("addon_active").wait(clusterName=cluster, addonName="coredns", WaiterConfig=fast())
    assert eks.describe_addon(clusterName=cluster, addonName="coredns")["addon"]["health"]["issues"] == []

    log = {entry["id"]: entry for entry in fidelity_emulator.lifecycle()}
    assert log[f"{cluster}/coredns"]["ready_at"] == log[f"{cluster}/core"]["ready_at"]

    eks.delete_nodegroup(clusterName=cluster, nodegroupName="core")  # its pods lose their nodes
    assert eks.describe_addon(clusterName=cluster, addonName="coredns")["addon"]["status"] == "DEGRADED"


def test_addons_go_with_their_cluster(aws: Client, cluster: str) -> None:
    eks = aws("eks")
    eks.create_addon(clusterName=cluster, addonName="kube-proxy")
    eks.delete_cluster(name=cluster)
    eks.get_waiter("cluster_deleted").wait(name=cluster, WaiterConfig=fast())
    with pytest.raises(ClientError) as gone:
        eks.describe_addon(clusterName=cluster, addonName="kube-proxy")
    assert error_code(gone) == "ResourceNotFoundException"


def test_nodegroup_has_update_config_and_keeps_config_updates(
    aws: Client, cluster: str, subnets: list[str], slowed: Slowed
) -> None:
    eks = aws("eks")
    eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName="user",
        nodeRole=ROLE_ARN,
        subnets=subnets,
        scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 0},
        labels={"hub.jupyter.org/node-purpose": "user"},
    )
    described = eks.describe_nodegroup(clusterName=cluster, nodegroupName="user")["nodegroup"]
    assert described["updateConfig"] == {"maxUnavailable": 1}
    eks.get_waiter("nodegroup_active").wait(clusterName=cluster, nodegroupName="user", WaiterConfig=fast())

    taint = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NO_SCHEDULE"}
    with slowed("eks::nodegroup.update"):
        eks.update_nodegroup_config(
            clusterName=cluster,
            nodegroupName="user",
            scalingConfig={"minSize": 0, "maxSize": 10, "desiredSize": 1},
            labels={"addOrUpdateLabels": {"tier": "spot"}},
            taints={"addOrUpdateTaints": [taint]},
            updateConfig={"maxUnavailablePercentage": 25},
        )
    with pytest.raises(ClientError) as busy:
        eks.update_nodegroup_config(
            clusterName=cluster, nodegroupName="user", scalingConfig={"desiredSize": 2}
        )
    assert error_code(busy) == "ResourceInUseException"
    eks.get_waiter("nodegroup_active").wait(clusterName=cluster, nodegroupName="user", WaiterConfig=fast())

    updated = eks.describe_nodegroup(clusterName=cluster, nodegroupName="user")["nodegroup"]
    assert updated["scalingConfig"] == {"minSize": 0, "maxSize": 10, "desiredSize": 1}
    assert updated["labels"] == {"hub.jupyter.org/node-purpose": "user", "tier": "spot"}
    assert updated["taints"] == [taint]
    assert updated["updateConfig"] == {"maxUnavailablePercentage": 25}
    assert len(eks.list_updates(name=cluster, nodegroupName="user")["updateIds"]) == 1

    eks.tag_resource(resourceArn=updated["nodegroupArn"], tags={"site": "local"})
    assert eks.list_tags_for_resource(resourceArn=updated["nodegroupArn"])["tags"] == {"site": "local"}


def test_nodegroup_with_a_launch_template_has_its_volumes_from_the_template(
    aws: Client, cluster: str, subnets: list[str], unique: Names
) -> None:
    ec2, eks = aws("ec2"), aws("eks")
    data = {
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 1,
            "HttpEndpoint": "enabled",
        },
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 50, "VolumeType": "gp3", "Encrypted": True}}
        ],
    }
    name = unique("nodes")
    template = ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData=data,
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "site", "Value": "local"}]}],
    )["LaunchTemplate"]
    # The template's own tags are not part of its data.
    [version] = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])[
        "LaunchTemplateVersions"
    ]
    assert version["LaunchTemplateData"] == data
    assert template["Tags"] == [{"Key": "site", "Value": "local"}]

    group = {
        "clusterName": cluster,
        "nodeRole": ROLE_ARN,
        "subnets": subnets,
        "scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 0},
        "launchTemplate": {"id": template["LaunchTemplateId"], "version": "1"},
    }
    with pytest.raises(ClientError) as both:
        eks.create_nodegroup(nodegroupName="with-disk", diskSize=50, **group)
    assert error_code(both) == "InvalidParameterException"
    assert "Disk size must be specified within the launch template" in str(both.value)

    eks.create_nodegroup(nodegroupName="templated", **group)
    described = eks.describe_nodegroup(clusterName=cluster, nodegroupName="templated")["nodegroup"]
    assert described["launchTemplate"] == {"id": template["LaunchTemplateId"], "name": name, "version": "1"}
    assert "diskSize" not in described


def test_cluster_describes_networking_logging_encryption_and_its_own_oidc_issuer(
    aws: Client, subnets: list[str], unique: Names
) -> None:
    eks = aws("eks")
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    first, second = unique("c"), unique("c")
    eks.create_cluster(
        name=first,
        roleArn=ROLE_ARN,
        resourcesVpcConfig={"subnetIds": subnets, "endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]},
        encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key}}],
    )
    eks.create_cluster(name=second, roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    cluster = eks.describe_cluster(name=first)["cluster"]

    vpc = cluster["resourcesVpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"]) == (True, True)
    assert vpc["publicAccessCidrs"] == ["0.0.0.0/0"]
    [group] = aws("ec2").describe_security_groups(GroupIds=[vpc["clusterSecurityGroupId"]])["SecurityGroups"]
    assert group["VpcId"] == vpc["vpcId"]
    assert cluster["logging"]["clusterLogging"] == [
        {"types": ["api", "audit"], "enabled": True},
        {"types": ["authenticator", "controllerManager", "scheduler"], "enabled": False},
    ]
    assert cluster["encryptionConfig"][0]["provider"]["keyArn"] == key
    issuers = {eks.describe_cluster(name=n)["cluster"]["identity"]["oidc"]["issuer"] for n in (first, second)}
    assert len(issuers) == 2
    assert all(i.startswith("https://oidc.eks.us-east-1.amazonaws.com/id/") for i in issuers)


def test_update_cluster_config_is_tracked_and_refuses_no_op_and_mixed_updates(
    aws: Client, cluster: str, slowed: Slowed
) -> None:
    eks = aws("eks")
    logging = {"clusterLogging": [{"types": ["api"], "enabled": True}]}
    with slowed("eks::cluster.update"):
        update = eks.update_cluster_config(name=cluster, logging=logging)["update"]
    assert (update["type"], update["status"]) == ("LoggingUpdate", "InProgress")
    assert eks.describe_cluster(name=cluster)["cluster"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as busy:
        eks.update_cluster_config(name=cluster, resourcesVpcConfig={"endpointPrivateAccess": True})
    assert error_code(busy) == "ResourceInUseException"
    eks.get_waiter("cluster_active").wait(name=cluster, WaiterConfig=fast())
    assert eks.describe_update(name=cluster, updateId=update["id"])["update"]["status"] == "Successful"

    with pytest.raises(ClientError) as no_op:
        eks.update_cluster_config(name=cluster, logging=logging)
    assert error_code(no_op) == "InvalidParameterException"
    with pytest.raises(ClientError) as mixed:
        eks.update_cluster_config(
            name=cluster, logging=logging, resourcesVpcConfig={"endpointPrivateAccess": True}
        )
    assert error_code(mixed) == "InvalidParameterException"

    access = {
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["203.0.113.0/24"],
    }
    update = eks.update_cluster_config(name=cluster, resourcesVpcConfig=access)["update"]
    assert update["type"] == "EndpointAccessUpdate"
    vpc = eks.describe_cluster(name=cluster)["cluster"]["resourcesVpcConfig"]
    assert (vpc["endpointPrivateAccess"], vpc["publicAccessCidrs"]) == (True, ["203.0.113.0/24"])
    assert len(eks.list_updates(name=cluster)["updateIds"]) == 2


def test_associate_encryption_config_encrypts_secrets_once(aws: Client, cluster: str) -> None:
    eks = aws("eks")
    config = [{"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}}]
    update = eks.associate_encryption_config(clusterName=cluster, encryptionConfig=config)["update"]
    assert update["type"] == "AssociateEncryptionConfig"
    assert eks.describe_cluster(name=cluster)["cluster"]["encryptionConfig"] == config
    eks.get_waiter("cluster_active").wait(name=cluster, WaiterConfig=fast())
    with pytest.raises(ClientError) as again:
        eks.associate_encryption_config(clusterName=cluster, encryptionConfig=config)
    assert error_code(again) == "InvalidRequestException"


def test_update_cluster_version_goes_one_minor_up_once_the_node_groups_match(
    aws: Client, subnets: list[str], unique: Names, slowed: Slowed
) -> None:
    eks, name = aws("eks"), unique("upgrade")
    eks.create_cluster(name=name, version="1.31", roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=fast())
    eks.create_nodegroup(clusterName=name, nodegroupName="core", nodeRole=ROLE_ARN, subnets=subnets)
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="core", WaiterConfig=fast())

    for refused in ("1.33", "1.31", "1.30", "2.0", "latest"):
        with pytest.raises(ClientError) as skipped:
            eks.update_cluster_version(name=name, version=refused)
        assert error_code(skipped) == "InvalidParameterException"
        assert f"from 1.31 to {refused}" in str(skipped.value)

    with slowed("eks::cluster.version"):
        update = eks.update_cluster_version(name=name, version="1.32")["update"]
    assert (update["type"], update["status"]) == ("VersionUpdate", "InProgress")
    assert {p["type"]: p["value"] for p in update["params"]}["Version"] == "1.32"
    cluster = eks.describe_cluster(name=name)["cluster"]
    assert (cluster["status"], cluster["version"]) == ("UPDATING", "1.31")
    with pytest.raises(ClientError) as busy:
        eks.update_cluster_version(name=name, version="1.32")
    assert error_code(busy) == "ResourceInUseException"
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=fast())
    assert eks.describe_cluster(name=name)["cluster"]["version"] == "1.32"
    assert eks.describe_update(name=name, updateId=update["id"])["update"]["status"] == "Successful"
    assert update["id"] in eks.list_updates(name=name)["updateIds"]

    # The node group still runs 1.31: EKS refuses the next minor until it matches the cluster.
    with pytest.raises(ClientError) as behind:
        eks.update_cluster_version(name=name, version="1.33")
    assert error_code(behind) == "InvalidRequestException"
    assert "core" in str(behind.value)


def test_update_nodegroup_version_rolls_to_the_cluster_version_and_never_past_it(
    aws: Client, subnets: list[str], unique: Names, slowed: Slowed
) -> None:
    eks, name = aws("eks"), unique("nodes-upgrade")
    eks.create_cluster(name=name, version="1.32", roleArn=ROLE_ARN, resourcesVpcConfig={"subnetIds": subnets})
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=fast())
    eks.create_nodegroup(clusterName=name, nodegroupName="core", nodeRole=ROLE_ARN, subnets=subnets)
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="core", WaiterConfig=fast())
    eks.update_cluster_version(name=name, version="1.33")
    eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=fast())

    for refused, words in (("1.34", "higher than the cluster"), ("1.31", "lower than the current")):
        with pytest.raises(ClientError) as wrong:
            eks.update_nodegroup_version(clusterName=name, nodegroupName="core", version=refused)
        assert error_code(wrong) == "InvalidParameterException"
        assert words in str(wrong.value)
    with pytest.raises(ClientError) as mismatch:
        eks.update_nodegroup_version(
            clusterName=name, nodegroupName="core", version="1.33", releaseVersion="1.32.0-20250704"
        )
    assert error_code(mismatch) == "InvalidParameterException"

    with slowed("eks::nodegroup.version"):
        # No version: the cluster's, with its latest AMI release.
        update = eks.update_nodegroup_version(clusterName=name, nodegroupName="core")["update"]
    assert (update["type"], update["status"]) == ("VersionUpdate", "InProgress")
    params = {p["type"]: p["value"] for p in update["params"]}
    assert params == {"Version": "1.33", "ReleaseVersion": "1.33.0-20250704"}
    group = eks.describe_nodegroup(clusterName=name, nodegroupName="core")["nodegroup"]
    assert (group["status"], group["version"], group["releaseVersion"]) == (
        "UPDATING",
        "1.32",
        "1.32.0-20250704",
    )
    with pytest.raises(ClientError) as busy:
        eks.update_nodegroup_config(
            clusterName=name, nodegroupName="core", labels={"addOrUpdateLabels": {"a": "b"}}
        )
    assert error_code(busy) == "ResourceInUseException"
    eks.get_waiter("nodegroup_active").wait(clusterName=name, nodegroupName="core", WaiterConfig=fast())
    group = eks.describe_nodegroup(clusterName=name, nodegroupName="core")["nodegroup"]
    assert (group["version"], group["releaseVersion"]) == ("1.33", "1.33.0-20250704")
    found = eks.describe_update(name=name, updateId=update["id"], nodegroupName="core")["update"]
    assert found["status"] == "Successful"
    assert update["id"] in eks.list_updates(name=name, nodegroupName="core")["updateIds"]
