"""EC2: NAT gateways and AMIs take time; AMI names are unique; CreateImage tags the snapshot too;
AMIs can be deprecated (EnableImageDeprecation, DisableImageDeprecation, DeprecationTime); the tags of
a new launch template stay out of its data; EBS encryption by default encrypts new volumes, and its default
KMS key can be read and reset (GetEbsDefaultKmsKeyId, ResetEbsDefaultKmsKeyId); an AMI can require IMDSv2
(ModifyImageAttribute ImdsSupport, shown by DescribeImages and DescribeImageAttribute); GetConsoleOutput of an
instance that a local machine stands for prints that machine's SSH host keys, as cloud-init does on EC2;
UpdateSecurityGroupRuleDescriptionsIngress/Egress answer Return, as AWS does."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami, AmiBackend
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.models.launch_templates import LaunchTemplateBackend
from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.responses.amis import AmisResponse
from moto.ec2.responses.elastic_block_store import ElasticBlockStore
from moto.ec2.responses.general import General
from moto.ec2.responses.security_groups import SecurityGroups
from moto.ec2.utils import Base64EncodedString
from moto.kms.models import kms_backends

from emulator.lifecycle import TimedStatus, deprovision, provision
from emulator.patching import wrap


def _create_nat_gateway(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    """pending, then available: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNatGateway.html"""
    gateway = original(backend, *args, **kwargs)
    provision(gateway, "ec2::nat-gateway.create", gateway.id, "pending", "available")
    return gateway


def _delete_nat_gateway(original: Callable[..., Any], backend: Any, nat_gateway_id: str) -> Any:
    """deleting, then deleted (still listed, as on AWS); NatGatewayNotFound for an unknown id:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteNatGateway.html
    Its Elastic IP is disassociated and its network interface deleted (moto kept both, so the subnet
    still held the interface of a deleted gateway); here at once, on AWS while it is deleting."""
    if nat_gateway_id not in backend.nat_gateways:
        raise EC2ClientError("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")
    gateway = original(backend, nat_gateway_id)
    deprovision(gateway, "ec2::nat-gateway.delete", "deleting", "deleted")
    for address in backend.addresses:
        if address.eni is gateway._eni:
            backend.disassociate_address(address=address.public_ip)
    backend.enis.pop(gateway._eni.id, None)
    return gateway


def _delete_subnet(original: Callable[..., Any], backend: Any, subnet_id: str) -> Any:
    """The subnet's route table associations go with it (moto kept them, so the table still listed a
    subnet that no longer exists): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html"""
    subnet = original(backend, subnet_id)
    for table in backend.route_tables.values():
        for association in [a for a, target in table._associations.items() if target == subnet_id]:
            del table._associations[association]
    return subnet


def _refuse_duplicate_name(backend: Any, name: str | None) -> None:
    """AMI names are unique per account and region ("Name ... must be unique"):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RegisterImage.html"""
    for ami in backend.amis.values():
        if name and ami.name == name and ami.owner_id == backend.account_id:
            raise EC2ClientError(
                "InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}"
            )


def _create_image(
    original: Callable[..., Any],
    backend: Any,
    instance_id: str,
    name: str,
    description: str,
    tag_specifications: list[dict[str, Any]],
) -> Any:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html

    TagSpecifications may tag the ``image`` and the ``snapshot`` (moto only knew the first).
    """
    _refuse_duplicate_name(backend, name)
    image_specs = [spec for spec in tag_specifications if spec["ResourceType"] != "snapshot"]
    snapshot_tags = [
        tag for spec in tag_specifications if spec["ResourceType"] == "snapshot" for tag in spec["Tags"]
    ]
    ami = original(backend, instance_id, name, description, tag_specifications=image_specs)
    for tag in snapshot_tags:
        ami.ebs_snapshot.add_tag(tag["Key"], tag["Value"])
    provision(ami, "ec2::image.create", ami.id, "pending", "available")
    return ami


def _register_image(
    original: Callable[..., Any], backend: Any, name: str | None = None, description: str | None = None
) -> Any:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RegisterImage.html"""
    _refuse_duplicate_name(backend, name)
    ami = original(backend, name, description)
    provision(ami, "ec2::image.register", ami.id, "pending", "available")
    return ami


def _copy_image(
    original: Callable[..., Any],
    backend: Any,
    source_image_id: str,
    source_region: str,
    name: str | None = None,
    description: str | None = None,
) -> Any:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html"""
    _refuse_duplicate_name(backend, name)
    ami = original(backend, source_image_id, source_region, name, description)
    provision(ami, "ec2::image.copy", ami.id, "pending", "available")
    return ami


def _deprecate_at(value: str | datetime | None) -> str:
    """DeprecateAt rounded to the minute, refused in the past or more than 10 years ahead:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html"""
    if isinstance(value, datetime):  # moto parses timestamp members already
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            message = f"Invalid value '{value}' for DeprecateAt"
            raise EC2ClientError("InvalidParameterValue", message) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = (when + timedelta(seconds=30)).replace(second=0, microsecond=0)
    now = datetime.now(UTC)
    if when < now.replace(second=0, microsecond=0):
        raise EC2ClientError("InvalidParameterValue", "DeprecateAt cannot be in the past.")
    if when > now + timedelta(days=3653):
        message = "DeprecateAt cannot be more than 10 years in the future."
        raise EC2ClientError("InvalidParameterValue", message)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _owned_image(backend: Any, image_id: str) -> Any:
    image = backend.amis.get(image_id)
    if image is None:
        raise EC2ClientError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
    return image


def enable_image_deprecation(self: Any) -> ActionResult:
    """EnableImageDeprecation: DescribeImages then shows ``DeprecationTime``:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html"""
    self.error_on_dryrun()
    image = _owned_image(self.ec2_backend, self._get_param("ImageId"))
    image.deprecation_time = _deprecate_at(self._get_param("DeprecateAt"))
    return ActionResult({"Return": True})


def disable_image_deprecation(self: Any) -> ActionResult:
    """DisableImageDeprecation: the image has no ``DeprecationTime`` any more:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DisableImageDeprecation.html"""
    self.error_on_dryrun()
    image = _owned_image(self.ec2_backend, self._get_param("ImageId"))
    image.deprecation_time = None
    return ActionResult({"Return": True})


IMDS_SUPPORT_VALUES = ("v2.0",)


def modify_image_attribute(original: Callable[..., Any]) -> Callable[..., Any]:
    """ModifyImageAttribute with ``ImdsSupport`` (moto ignored it): v2.0 is the only value and cannot be
    undone; it is set alone, not with the other attributes:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyImageAttribute.html"""

    def modify(self: Any) -> Any:
        imds = self._get_param("ImdsSupport")
        if imds is None:
            return original(self)
        value = imds.get("Value") if isinstance(imds, dict) else imds
        if value not in IMDS_SUPPORT_VALUES:
            message = f"Value ({value}) for parameter imdsSupport is invalid. Valid value is: v2.0."
            raise EC2ClientError("InvalidParameterValue", message)
        self.error_on_dryrun()
        _owned_image(self.ec2_backend, self._get_param("ImageId")).imds_support = value
        return ActionResult({})

    return modify


def describe_image_attribute(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeImageAttribute ``imdsSupport``: ``{"ImdsSupport": {"Value": "v2.0"}}``, or an empty
    ``ImdsSupport`` when it was never set:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeImageAttribute.html"""

    def describe(self: Any) -> Any:
        if self._get_param("Attribute") != "imdsSupport":
            return original(self)
        image_id = self._get_param("ImageId")
        value = _owned_image(self.ec2_backend, image_id).imds_support
        return ActionResult({"ImageId": image_id, "ImdsSupport": {"Value": value} if value else {}})

    return describe


# The tag that names the local machine (machines/) an emulated instance stands for: its state directory
# (``<state dir>/<name>``). Set on the instance by the inventory of a local site, never by a role.
MACHINE_TAG = "emulator:machine"


KEY_LABELS = {
    "ssh-ed25519": ("256", "ED25519"),
    "ecdsa-sha2-nistp256": ("256", "ECDSA"),
    "ssh-rsa": ("3072", "RSA"),
}


def console_host_keys(machine_dir: Path) -> str:
    """What cloud-init prints on an EC2 console at first boot (its write-ssh-key-fingerprints): the host
    keys' fingerprints through logger (tag ``ec2``), then the public keys between the KEYS markers."""
    keys = sorted((machine_dir / "rootfs" / "etc" / "ssh").glob("ssh_host_*_key.pub"))
    lines = [key.read_text().strip() for key in keys if key.read_text().strip()]
    out = ["ec2: #############################################################"]
    out.append("ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----")
    for line in lines:
        kind, blob = line.split()[:2]
        digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
        bits, label = KEY_LABELS.get(kind, ("", kind))
        out.append(f"ec2: {bits} SHA256:{digest} root@{machine_dir.name} ({label})")
    out += ["ec2: -----END SSH HOST KEY FINGERPRINTS-----"]
    out += ["ec2: #############################################################"]
    out += ["-----BEGIN SSH HOST KEY KEYS-----", *lines, "-----END SSH HOST KEY KEYS-----"]
    return "\n".join(out) + "\n"


def get_console_output(original: Callable[..., Any]) -> Callable[..., Any]:
    """GetConsoleOutput of an instance tagged ``emulator:machine``: a boot console whose end is the machine's
    real SSH host keys (moto printed the same 2006 Xen boot lines for every instance):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html"""

    def console(self: Any) -> Any:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        machine = next((tag["value"] for tag in instance.get_tags() if tag["key"] == MACHINE_TAG), None)
        if not machine:
            return original(self)
        boot = f"[    0.000000] Linux version (emulated by the local machine {Path(machine).name})\n"
        text = boot + console_host_keys(Path(machine))
        return ActionResult(
            {
                "InstanceId": instance.id,
                "Timestamp": datetime.now(UTC),
                "Output": Base64EncodedString.from_raw_string(text),
            }
        )

    return console


def _create_launch_template(
    original: Callable[..., Any],
    backend: Any,
    name: str,
    description: str,
    template_data: dict[str, Any],
    tag_spec: dict[str, Any],
) -> Any:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html

    The request's TagSpecifications tag the template itself (resource type ``launch-template``);
    moto also copied them into the template's data, where AWS keeps only the instances' and volumes'
    (DescribeLaunchTemplateVersions then showed data nobody asked for, so every comparison differed).
    """
    specs = [
        spec
        for spec in template_data.get("TagSpecifications") or []
        if spec.get("ResourceType") != "launch-template"
    ]
    template_data = {k: v for k, v in template_data.items() if k != "TagSpecifications"}
    if specs:
        template_data["TagSpecifications"] = specs
    return original(backend, name, description, template_data, tag_spec)


# What GetEbsDefaultKmsKeyId answers while the account's default key is the AWS managed one (the AWS CLI
# reference's example: {"KmsKeyId": "alias/aws/ebs"}).
EBS_MANAGED_KEY_ALIAS = "alias/aws/ebs"


def _create_volume(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    """With EBS encryption by default on, every new volume is encrypted, with the default KMS key unless the
    request names one (moto left a volume created without ``Encrypted`` unencrypted):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableEbsEncryptionByDefault.html"""
    # getattr: the backend makes its default AMIs' volumes before its settings exist.
    if getattr(backend, "ebs_encryption_by_default", False) and not kwargs.get("encrypted"):
        kwargs["encrypted"] = True
    return original(backend, *args, **kwargs)


def _is_managed_key(backend: Any, arn: str) -> bool:
    kms = kms_backends[backend.account_id][backend.region_name]
    return (
        bool(kms.alias_exists(EBS_MANAGED_KEY_ALIAS)) and kms.describe_key(EBS_MANAGED_KEY_ALIAS).arn == arn
    )


def get_ebs_default_kms_key_id(self: Any) -> ActionResult:
    """GetEbsDefaultKmsKeyId (new): the key ModifyEbsDefaultKmsKeyId set (its ARN), else ``alias/aws/ebs``:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetEbsDefaultKmsKeyId.html"""
    self.error_on_dryrun()
    chosen = self.ec2_backend.default_kms_key_id
    if not chosen or _is_managed_key(self.ec2_backend, chosen):
        chosen = EBS_MANAGED_KEY_ALIAS
    return ActionResult({"KmsKeyId": chosen})


def reset_ebs_default_kms_key_id(self: Any) -> ActionResult:
    """ResetEbsDefaultKmsKeyId (new): back to the AWS managed key; answers its ARN:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ResetEbsDefaultKmsKeyId.html"""
    self.error_on_dryrun()
    # moto's helper makes the AWS managed key on first use (as AWS does) and makes it the default.
    return ActionResult({"KmsKeyId": self.ec2_backend._create_default_encryption_key()})


def answers_return(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto answers an empty body; AWS answers Return (amazon.aws.ec2_security_group reads it):
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UpdateSecurityGroupRuleDescriptionsEgress.html"""

    def update(self: Any) -> ActionResult:
        original(self)
        return ActionResult({"Return": True})

    return update


def install() -> None:
    NatGateway.state = TimedStatus()  # type: ignore[assignment]
    Ami.state = TimedStatus()  # type: ignore[assignment]
    wrap(NatGatewayBackend, "create_nat_gateway")(_create_nat_gateway)
    wrap(NatGatewayBackend, "delete_nat_gateway")(_delete_nat_gateway)
    wrap(SubnetBackend, "delete_subnet")(_delete_subnet)
    wrap(AmiBackend, "create_image")(_create_image)
    wrap(AmiBackend, "register_image")(_register_image)
    wrap(AmiBackend, "copy_image")(_copy_image)
    wrap(LaunchTemplateBackend, "create_launch_template")(_create_launch_template)
    wrap(EBSBackend, "create_volume")(_create_volume)
    ElasticBlockStore.get_ebs_default_kms_key_id = get_ebs_default_kms_key_id  # type: ignore[attr-defined]
    ElasticBlockStore.reset_ebs_default_kms_key_id = reset_ebs_default_kms_key_id  # type: ignore[attr-defined]
    Ami.deprecation_time = None  # type: ignore[attr-defined]
    Ami.imds_support = None  # type: ignore[attr-defined]
    AmisResponse.modify_image_attribute = modify_image_attribute(AmisResponse.modify_image_attribute)  # type: ignore[method-assign]
    AmisResponse.describe_image_attribute = describe_image_attribute(AmisResponse.describe_image_attribute)  # type: ignore[method-assign]
    General.get_console_output = get_console_output(General.get_console_output)  # type: ignore[method-assign]
    for way in ("ingress", "egress"):
        name = f"update_security_group_rule_descriptions_{way}"
        setattr(SecurityGroups, name, answers_return(getattr(SecurityGroups, name)))
    AmisResponse.enable_image_deprecation = enable_image_deprecation  # type: ignore[attr-defined]
    AmisResponse.disable_image_deprecation = disable_image_deprecation  # type: ignore[attr-defined]
