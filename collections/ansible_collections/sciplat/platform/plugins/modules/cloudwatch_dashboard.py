#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_dashboard
version_added: 0.2.0
short_description: Manage a CloudWatch dashboard
description:
  - Create, replace or delete a CloudWatch dashboard from its body (widgets); amazon.aws and
    community.aws have no module for dashboards.
  - The body is compared as data with what GetDashboard returns, so key order and whitespace do
    not count as a change.
author:
  - Science platform deployment kit maintainers
options:
  name:
    description: Name of the dashboard (letters, digits, C(-) and C(_), up to 255 characters).
    type: str
    required: true
  body:
    description:
      - The dashboard body, as a dict (C(widgets), optionally C(start), C(periodOverride) ...); see
        the CloudWatch "Dashboard Body Structure and Syntax" reference. Required when O(state=present).
    type: dict
  state:
    description: V(present) creates or replaces the dashboard; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - CloudWatch checks the body when it is written; messages it returns (C(DashboardValidationMessages))
    are shown as warnings.
"""

EXAMPLES = r"""
- name: One graph of the cluster's node CPU.
  sciplat.platform.cloudwatch_dashboard:
    name: sciplat-hub
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: Node CPU
            region: us-east-1
            metrics:
              - [ContainerInsights, node_cpu_utilization, ClusterName, sciplat-hub]
"""

RETURN = r"""
dashboard:
  description: The dashboard after the run; empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the dashboard.
      type: str
      sample: sciplat-hub
    arn:
      description: ARN of the dashboard (empty in check mode for a new one).
      type: str
      sample: arn:aws:cloudwatch::123456789012:dashboard/sciplat-hub
    body:
      description: The body.
      type: dict
"""

import contextlib
import json
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def read(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, Any] | None:
    try:
        found = client.get_dashboard(DashboardName=name)
    except is_boto3_error_code("ResourceNotFound"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't read dashboard {name}")
    return {"name": name, "arn": found.get("DashboardArn", ""), "body": json.loads(found["DashboardBody"])}


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            body=dict(type="dict"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
        required_if=[("state", "present", ["body"])],
    )
    name = module.params["name"]
    if not re.match(r"^[A-Za-z0-9_-]{1,255}$", name):
        module.fail_json(msg=f"name is {name!r}: it accepts 1 to 255 letters, digits, '-' and '_'.")
    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff(retries=5))
    before = read(module, client, name)
    after: dict[str, Any] = {}
    changed = False
    try:
        if module.params["state"] == "absent":
            if before is not None:
                changed = True
                if not module.check_mode:
                    client.delete_dashboards(DashboardNames=[name])
        else:
            body = json.loads(json.dumps(module.params["body"]))
            after = {"name": name, "arn": (before or {}).get("arn", ""), "body": body}
            if before is None or before["body"] != body:
                changed = True
                if not module.check_mode:
                    answer = client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
                    for entry in answer.get("DashboardValidationMessages", []):
                        module.warn(
                            f"dashboard {name}: {entry.get('DataPath', '')} {entry.get('Message', '')}"
                        )
                    after = read(module, client, name) or after
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Couldn't write dashboard {name}")
    result: dict[str, Any] = {"changed": changed, "dashboard": after}
    if module._diff:
        result["diff"] = {"before": before or {}, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
