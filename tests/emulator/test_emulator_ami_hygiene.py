"""What the demo image's hygiene relies on: an AMI can require IMDSv2 (moto dropped ImdsSupport), and the
console output of an instance a local machine stands for prints that machine's SSH host keys, as cloud-init
prints them on an EC2 console."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client
from local_machines import machine_with_host_key

pytestmark = pytest.mark.emulator

Names = Callable[[str], str]


def _instance(aws: Client, tags: dict[str, str] | None = None) -> str:
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}]
    return str(
        aws("ec2").run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, **({"TagSpecifications": spec} if tags else {})
        )["Instances"][0]["InstanceId"]
    )


def test_imds_support_is_set_once_and_round_trips(aws: Client, unique: Names) -> None:
    ec2 = aws("ec2")
    image = ec2.create_image(InstanceId=_instance(aws), Name=unique("imds"))["ImageId"]
    assert "ImdsSupport" not in ec2.describe_images(ImageIds=[image])["Images"][0]
    assert ec2.describe_image_attribute(ImageId=image, Attribute="imdsSupport")["ImdsSupport"] == {}

    ec2.modify_image_attribute(ImageId=image, ImdsSupport={"Value": "v2.0"})

    assert ec2.describe_images(ImageIds=[image])["Images"][0]["ImdsSupport"] == "v2.0"
    attribute = ec2.describe_image_attribute(ImageId=image, Attribute="imdsSupport")
    assert attribute["ImdsSupport"] == {"Value": "v2.0"}
    with pytest.raises(ClientError) as refused:
        ec2.modify_image_attribute(ImageId=image, ImdsSupport={"Value": "v1.0"})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    # The other attributes still go to moto.
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    permissions = ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")[
        "LaunchPermissions"
    ]
    assert permissions == [{"Group": "all"}]


def test_console_output_prints_the_machines_host_keys(aws: Client, tmp_path: Path) -> None:
    machine = tmp_path / "builder"
    public = machine_with_host_key(machine).read_text().split()
    fingerprint = base64.b64encode(hashlib.sha256(base64.b64decode(public[1])).digest()).decode().rstrip("=")

    tagged = _instance(aws, {"emulator:machine": str(machine)})
    output = aws("ec2").get_console_output(InstanceId=tagged)["Output"]

    lines = output.splitlines()
    keys = lines[
        lines.index("-----BEGIN SSH HOST KEY KEYS-----") + 1 : lines.index("-----END SSH HOST KEY KEYS-----")
    ]
    assert [key.split()[:2] for key in keys] == [public[:2]]
    assert f"ec2: 256 SHA256:{fingerprint} root@builder (ED25519)" in lines

    untagged = aws("ec2").get_console_output(InstanceId=_instance(aws))["Output"]
    assert "SSH HOST KEY" not in untagged
