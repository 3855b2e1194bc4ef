"""AMI deprecation (moto has none), launch permissions and copies: what the ami_demo role relies on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from fidelity_support import Client

pytestmark = pytest.mark.emulator

Names = Callable[[str], str]


@pytest.fixture
def image(aws: Client, unique: Names) -> str:
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return str(ec2.create_image(InstanceId=instance, Name=unique("deprecation"))["ImageId"])


def test_deprecation_is_set_rounded_to_the_minute_and_removed(aws: Client, image: str) -> None:
    ec2 = aws("ec2")
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[image])["Images"][0]
    when = (datetime.now(UTC) + timedelta(days=2)).replace(second=40, microsecond=0)
    assert ec2.enable_image_deprecation(ImageId=image, DeprecateAt=when)["Return"] is True
    [described] = ec2.describe_images(ImageIds=[image], IncludeDeprecated=True)["Images"]
    expected = (when + timedelta(minutes=1)).replace(second=0)
    assert described["DeprecationTime"] == expected.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    assert ec2.disable_image_deprecation(ImageId=image)["Return"] is True
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[image])["Images"][0]


def test_deprecation_refuses_the_past_and_unknown_images(aws: Client, image: str) -> None:
    ec2 = aws("ec2")
    with pytest.raises(ClientError) as past:
        ec2.enable_image_deprecation(ImageId=image, DeprecateAt=datetime.now(UTC) - timedelta(hours=1))
    assert past.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as far:
        ec2.enable_image_deprecation(ImageId=image, DeprecateAt=datetime.now(UTC) + timedelta(days=3700))
    assert far.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as unknown:
        ec2.enable_image_deprecation(ImageId="ami-0000000000000dead", DeprecateAt=datetime.now(UTC))
    assert unknown.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"


def test_launch_permission_and_cross_region_copy(aws: Client, image: str, unique: Names) -> None:
    ec2 = aws("ec2")
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    attribute = ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")
    assert attribute["LaunchPermissions"] == [{"Group": "all"}]
    name = unique("copy")
    europe = aws("ec2", region="eu-west-1")
    copied = europe.copy_image(SourceImageId=image, SourceRegion="us-east-1", Name=name)
    [found] = europe.describe_images(ImageIds=[copied["ImageId"]])["Images"]
    assert found["Name"] == name
