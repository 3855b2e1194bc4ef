#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ec2_console_host_keys
version_added: 0.1.0
short_description: Read an EC2 instance's SSH host keys from its console output
description:
  - Polls GetConsoleOutput until the instance has printed its SSH host keys, as cloud-init does at first
    boot (its C(write-ssh-key-fingerprints) step prints the public keys between
    C(-----BEGIN SSH HOST KEY KEYS-----) and C(-----END SSH HOST KEY KEYS-----)), and returns them, with the
    fingerprints printed beside them.
  - The keys come from the hypervisor's copy of the console, not over the network, so a client can pin them
    in a C(known_hosts) file and connect with C(StrictHostKeyChecking=yes).
  - Read only; amazon.aws has no module for GetConsoleOutput.
author:
  - Science platform deployment kit maintainers
options:
  instance_id:
    description: ID of the instance, in the module's region.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the keys to appear (EC2 refreshes the console output a few minutes after boot).
    type: int
    default: 600
  delay:
    description: Seconds between two reads of the console output.
    type: int
    default: 10
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode (it changes nothing).
  - Fails, naming the instance, when no keys appear within O(timeout) (an image without cloud-init, or
    one that does not print its keys).
"""

EXAMPLES = r"""
- name: Read the builder's host keys from its console.
  sciplat.platform.ec2_console_host_keys:
    instance_id: i-0123456789abcdef0
  register: builder_keys

- name: Pin them for its address.
  ansible.builtin.copy:
    content: "{% for key in builder_keys.host_keys %}203.0.113.7 {{ key }}\n{% endfor %}"
    dest: /tmp/builder-known-hosts
    mode: "0600"
"""

RETURN = r"""
host_keys:
  description: The public host keys, C(<type> <base64>) each (the comment dropped).
  returned: success
  type: list
  elements: str
  sample: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..."]
fingerprints:
  description: The fingerprint lines printed beside them (C(ec2:) prefix removed).
  returned: success
  type: list
  elements: str
  sample: ["256 SHA256:Wn1... root@ip-10-0-0-5 (ED25519)"]
"""

import contextlib
import re
import time
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
# Console lines may carry a prefix (a timestamp, cloud-init's "ec2: " logger tag, a syslog priority).
KEY_LINE = re.compile(r"(?:^|\s)(" + "|".join(KEY_TYPES) + r") (AAAA[0-9A-Za-z+/]+={0,3})(?:\s|$)")
FINGERPRINT_LINE = re.compile(r"(\d+ SHA256:[0-9A-Za-z+/]+ .*\(\w+\))\s*$")


def _last_block(lines: list[str], name: str) -> list[str]:
    """The lines between the last BEGIN/END markers of ``name`` (none when the last block is cut)."""
    begins = [i for i, line in enumerate(lines) if f"-----BEGIN {name}-----" in line]
    ends = [i for i, line in enumerate(lines) if f"-----END {name}-----" in line]
    if begins and ends and begins[-1] < ends[-1]:
        return lines[begins[-1] + 1 : ends[-1]]
    return []


def parse(output: str) -> tuple[list[str], list[str]]:
    """(host keys, fingerprint lines) of the last block cloud-init printed (a reboot prints it again)."""
    lines = output.splitlines()
    found = map(KEY_LINE.search, _last_block(lines, "SSH HOST KEY KEYS"))
    keys = [f"{m.group(1)} {m.group(2)}" for m in found if m]
    prints = _last_block(lines, "SSH HOST KEY FINGERPRINTS")
    return keys, [m.group(1) for m in map(FINGERPRINT_LINE.search, prints) if m]


def console(module: AnsibleAWSModule, client: Any, instance_id: str) -> str:
    try:
        return str(client.get_console_output(aws_retry=True, InstanceId=instance_id).get("Output") or "")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Couldn't read the console output of {instance_id}")
    return ""


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "instance_id": {"type": "str", "required": True},
            "timeout": {"type": "int", "default": 600},
            "delay": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    instance_id = module.params["instance_id"]
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    deadline = time.monotonic() + module.params["timeout"]
    while True:
        keys, fingerprints = parse(console(module, client, instance_id))
        if keys:
            module.exit_json(changed=False, host_keys=keys, fingerprints=fingerprints)
        if time.monotonic() >= deadline:
            module.fail_json(
                msg=f"{instance_id} printed no SSH host keys on its console in {module.params['timeout']} s "
                "(cloud-init prints them at first boot; an image without cloud-init does not)"
            )
        time.sleep(max(1, module.params["delay"]))


if __name__ == "__main__":
    main()
