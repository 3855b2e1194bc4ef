#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eks_addon_versions_info
version_added: 0.1.0
short_description: List the EKS add-on versions compatible with a Kubernetes version
description:
  - Reads, with DescribeAddonVersions, which versions of each named add-on EKS offers for a Kubernetes
    version, newest first, with the one EKS marks as its default; changes nothing.
  - Used before a cluster upgrade to choose, and check, the add-ons' versions for the new minor version
    while the cluster still runs the old one.
author:
  - Science platform deployment kit maintainers
options:
  kubernetes_version:
    description: Kubernetes version (major.minor), for example V(1.33).
    type: str
    required: true
  names:
    description: Names of the add-ons, as listed by C(aws eks describe-addon-versions).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the add-on versions for Kubernetes 1.33.
  sciplat.platform.eks_addon_versions_info:
    kubernetes_version: "1.33"
    names: [vpc-cni, kube-proxy, coredns]
  register: addon_versions

- name: Show the newest coredns for 1.33.
  ansible.builtin.debug:
    msg: "{{ addon_versions.addons['coredns'].latest_version }}"
"""

RETURN = r"""
addons:
  description:
    - Per add-on name, its versions for O(kubernetes_version).
    - An add-on EKS does not offer for it is absent (see RV(unavailable)).
  returned: always
  type: dict
  contains:
    versions:
      description: The compatible versions, newest first.
      type: list
      elements: str
    latest_version:
      description: The newest compatible version.
      type: str
    default_version:
      description: The version EKS installs by default on that Kubernetes version (the newest if none is).
      type: str
  sample: {"coredns": {"versions": ["v1.12.2-eksbuild.4", "v1.12.1-eksbuild.2"],
           "latest_version": "v1.12.2-eksbuild.4", "default_version": "v1.12.1-eksbuild.2"}}
unavailable:
  description: The names EKS offers no version of for O(kubernetes_version).
  returned: always
  type: list
  elements: str
  sample: []
"""

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.eks import addon_versions, is_default_for


def main() -> None:
    argument_spec = dict(
        kubernetes_version=dict(type="str", required=True),
        names=dict(type="list", elements="str", required=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    k8s = module.params["kubernetes_version"]
    if not re.fullmatch(r"\d+\.\d+", k8s):
        module.fail_json(msg=f"kubernetes_version must look like 1.33 (major.minor), got {k8s!r}")
    client = module.client("eks", retry_decorator=AWSRetry.jittered_backoff())
    addons: dict[str, Any] = {}
    unavailable = []
    for name in module.params["names"]:
        try:
            versions = addon_versions(client, name, k8s)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Couldn't list versions of add-on {name} for Kubernetes {k8s}")
        if not versions:
            unavailable.append(name)
            continue
        defaults = [v["addonVersion"] for v in versions if is_default_for(v, k8s)]
        addons[name] = {
            "versions": [v["addonVersion"] for v in versions],
            "latest_version": versions[0]["addonVersion"],
            "default_version": defaults[0] if defaults else versions[0]["addonVersion"],
        }
    module.exit_json(changed=False, addons=addons, unavailable=unavailable)


if __name__ == "__main__":
    main()
