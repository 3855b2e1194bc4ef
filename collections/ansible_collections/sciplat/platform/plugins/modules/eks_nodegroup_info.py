#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_nodegroup_info
version_added: 0.1.0
short_description: List the managed node groups of an Amazon EKS cluster
description:
  - Lists the managed node groups of a cluster (ListNodegroups) and describes each (DescribeNodegroup),
    so that a role can tell the node groups its inventory lists from those it no longer does.
  - A cluster that does not exist has no node groups (an empty list, not an error); a node group deleted
    between the two calls is left out.
author:
  - Science platform deployment kit maintainers
options:
  cluster_name:
    description: Name of the EKS cluster.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Reads only; the same in check mode.
"""

EXAMPLES = r"""
- name: List the cluster's node groups.
  sciplat.platform.eks_nodegroup_info:
    cluster_name: hst-prod-hub
  register: node_groups
"""

RETURN = r"""
nodegroups:
  description:
    - The node groups, sorted by name, as DescribeNodegroup gives them.
    - Keys in snake_case; tag keys and Kubernetes label keys as they are.
  returned: always
  type: list
  elements: dict
  contains:
    nodegroup_name:
      description: The node group's name.
      type: str
      sample: user
    status:
      description: Its status (C(ACTIVE), C(CREATING), C(DELETING), ...).
      type: str
      sample: ACTIVE
    tags:
      description: Its tags.
      type: dict
      sample: {"Site": "hst-prod"}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.results import describe_or_none, to_result


def list_nodegroups(module: AnsibleAWSModule, client: Any, cluster_name: str) -> list[dict[str, Any]]:
    try:
        pages = client.get_paginator("list_nodegroups").paginate(clusterName=cluster_name)
        names = sorted(name for page in pages for name in page["nodegroups"])
    except is_boto3_error_code("ResourceNotFoundException"):
        return []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Couldn't list the node groups of {cluster_name}")
    found = []
    for name in names:
        try:
            nodegroup = describe_or_none(
                client.describe_nodegroup, "nodegroup", clusterName=cluster_name, nodegroupName=name
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't describe node group {name} of {cluster_name}")
        if nodegroup is not None:
            found.append(to_result(nodegroup, keep=["labels"]))
    return found


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={"cluster_name": {"type": "str", "required": True}}, supports_check_mode=True
    )
    client = module.client("eks", retry_decorator=AWSRetry.jittered_backoff())
    module.exit_json(changed=False, nodegroups=list_nodegroups(module, client, module.params["cluster_name"]))


if __name__ == "__main__":
    main()
