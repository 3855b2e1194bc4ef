#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ec2_image_deprecation
version_added: 0.1.0
short_description: Deprecate an EC2 image (AMI) or cancel its deprecation
description:
  - Sets or removes the deprecation time of an AMI you own (EnableImageDeprecation,
    DisableImageDeprecation); amazon.aws has no module for either.
  - A deprecated AMI still launches for anyone who names its ID, but no longer appears in
    DescribeImages results of other accounts (its owner keeps seeing it, with C(DeprecationTime)).
  - AWS rounds the time to the minute and refuses a time in the past; without O(deprecate_at) the
    image is deprecated from the next minute, and an image already deprecated at or before that
    time is left as it is.
author:
  - Science platform deployment kit maintainers
options:
  image_id:
    description: ID of the AMI, in the module's region.
    type: str
    required: true
  state:
    description:
      - V(present) - the image is deprecated (at O(deprecate_at), or from now on).
      - V(absent) - the image is not deprecated.
    type: str
    choices: [present, absent]
    default: present
  deprecate_at:
    description:
      - When the image becomes deprecated, in UTC, as C(YYYY-MM-DDTHH:MM:SSZ) (seconds are rounded to the
        minute). At most 10 years ahead (2 years after creation for a public AMI).
      - Omit it to deprecate from now on.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only DescribeImages is called.
"""

EXAMPLES = r"""
- name: Deprecate an old build of the demo image now.
  sciplat.platform.ec2_image_deprecation:
    image_id: ami-0123456789abcdef0
    region: us-east-1

- name: Deprecate it at the end of the year.
  sciplat.platform.ec2_image_deprecation:
    image_id: ami-0123456789abcdef0
    deprecate_at: "2026-12-31T23:59:00Z"

- name: Cancel the deprecation.
  sciplat.platform.ec2_image_deprecation:
    image_id: ami-0123456789abcdef0
    state: absent
"""

RETURN = r"""
image_id:
  description: ID of the AMI.
  returned: always
  type: str
  sample: ami-0123456789abcdef0
deprecation_time:
  description: When the image is (or becomes) deprecated, C(YYYY-MM-DDTHH:MM:SS.000Z); null if it is not.
  returned: always
  type: str
  sample: "2026-11-25T23:00:00.000Z"
"""

import contextlib
from datetime import UTC, datetime, timedelta

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.ec2_images import describe_image

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time (Z or an offset; naive means UTC), or None if it is not one."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def to_minute(when: datetime) -> datetime:
    """AWS rounds DeprecateAt to the nearest minute."""
    return (when + timedelta(seconds=30)).replace(second=0, microsecond=0)


def next_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _now() -> datetime:
    return datetime.now(UTC)


def wanted_time(module: AnsibleAWSModule, current: datetime | None) -> tuple[datetime | None, bool]:
    """(deprecation time after the run, whether it must be set)."""
    if module.params["state"] == "absent":
        return None, current is not None
    given = module.params["deprecate_at"]
    if given is None:
        soon = next_minute(_now())
        if current is not None and current <= soon:
            return current, False
        return soon, True
    when = parse_time(given)
    if when is None:
        module.fail_json(msg=f"deprecate_at must be a UTC time like 2026-12-31T23:59:00Z, got {given!r}")
    when = to_minute(when)
    if when < _now().replace(second=0, microsecond=0):
        module.fail_json(msg=f"deprecate_at {given} is in the past; AWS refuses a past deprecation time")
    return when, current != when


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "image_id": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "deprecate_at": {"type": "str"},
        },
        supports_check_mode=True,
    )
    image_id = module.params["image_id"]
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    image = describe_image(module, client, image_id)
    current = parse_time(image["DeprecationTime"]) if image.get("DeprecationTime") else None
    after, change = wanted_time(module, current)

    def shown(when: datetime | None) -> str | None:
        return when.strftime(TIME_FORMAT) if when else None

    if change and not module.check_mode:
        try:
            if after is None:
                client.disable_image_deprecation(aws_retry=True, ImageId=image_id)
            else:
                client.enable_image_deprecation(
                    aws_retry=True, ImageId=image_id, DeprecateAt=after.strftime("%Y-%m-%dT%H:%M:%SZ")
                )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't change the deprecation of image {image_id}")
    module.exit_json(
        changed=change,
        image_id=image_id,
        deprecation_time=shown(after),
        diff={"before": {"deprecation_time": shown(current)}, "after": {"deprecation_time": shown(after)}},
    )


if __name__ == "__main__":
    main()
