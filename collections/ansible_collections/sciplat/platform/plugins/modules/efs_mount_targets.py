#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_mount_targets
version_added: 0.1.0
short_description: Manage the whole set of mount targets of an Amazon EFS file system in one task
description:
  - Bring the mount targets of one EFS file system in line with a list of subnets - one mount
    target per subnet, with the given security groups.
  - One task for the whole set is faster than one task per subnet - the new mount targets are all
    requested first and then waited for together.
  - Security groups of existing mount targets are changed in place
    (ModifyMountTargetSecurityGroups). A mount target cannot move to another subnet; with
    O(purge=true) the mount targets in subnets not listed are deleted (first, so a listed subnet
    can take over an Availability Zone).
  - EFS allows one mount target per Availability Zone, all in one VPC; a request that breaks
    this fails before any change, naming the subnets.
author:
  - Science platform deployment kit maintainers
options:
  file_system_id:
    description: ID of the file system (see M(sciplat.platform.efs_filesystem)).
    type: str
    required: true
  subnets:
    description:
      - IDs of the subnets that get a mount target, at most one per Availability Zone.
      - V([]) with O(purge=true) removes every mount target of the file system.
    type: list
    elements: str
    required: true
  security_groups:
    description:
      - Security groups (IDs, or names in the subnets' VPC) of every listed mount target, at most
        five. They should admit NFS (TCP 2049) from the clients only.
      - When omitted, new mount targets get the VPC's default security group and existing ones
        keep theirs.
    type: list
    elements: str
  purge:
    description: Delete the mount targets of the file system in subnets that are not listed.
    type: bool
    default: false
  wait:
    description:
      - Wait until every listed mount target is C(available) and every deleted one is gone.
      - Whatever this option says, the module waits for a file system that is still being created
        before adding mount targets, for a deletion that frees an Availability Zone before a new
        mount target takes it, and for a mount target that is being created before changing its
        security groups.
    type: bool
    default: true
  wait_timeout:
    description: Seconds the whole task may spend waiting.
    type: int
    default: 600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - In check mode a file system that does not exist yet (a check run of a new site) is reported
    as getting a mount target in every listed subnet.
"""

EXAMPLES = r"""
- name: One mount target per private subnet, NFS admitted from the nodes only.
  sciplat.platform.efs_mount_targets:
    file_system_id: "{{ homes.file_system_id }}"
    subnets: "{{ aws_network_out_private_subnet_ids }}"
    security_groups: [sg-0a1b2c3d4e5f60004]
    purge: true
  register: mount_targets

- name: Remove every mount target (before deleting the file system).
  sciplat.platform.efs_mount_targets:
    file_system_id: fs-0123456789abcdef0
    subnets: []
    purge: true
"""

RETURN = r"""
file_system_id:
  description: ID of the file system.
  returned: always
  type: str
  sample: fs-0123456789abcdef0
mount_targets:
  description:
    - The mount targets of the file system, sorted by Availability Zone. In check mode, the ones
      that would be created have no C(mount_target_id).
  returned: always
  type: list
  elements: dict
  contains:
    mount_target_id:
      description: ID of the mount target.
      type: str
      sample: fsmt-0123456789abcdef0
    subnet_id:
      description: Its subnet.
      type: str
      sample: subnet-0a1b2c3d4e5f60001
    availability_zone_name:
      description: Its Availability Zone.
      type: str
      sample: us-east-1a
    availability_zone_id:
      description: ID of its Availability Zone.
      type: str
      sample: use1-az1
    ip_address:
      description: Its IPv4 address in the subnet.
      type: str
      sample: 10.0.1.25
    life_cycle_state:
      description: Its state (C(creating), C(available), C(deleting), ...).
      type: str
      sample: available
    security_groups:
      description: Its security groups (absent when EFS could not report them, e.g. while it is created).
      type: list
      elements: str
      sample: [sg-0a1b2c3d4e5f60004]
    network_interface_id:
      description: Its network interface.
      type: str
      sample: eni-0a1b2c3d4e5f60005
    vpc_id:
      description: Its VPC.
      type: str
      sample: vpc-0a1b2c3d4e5f60006
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.ec2 import get_ec2_security_group_ids_from_names
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.efs import (
    describe_file_system,
    efs_result,
    list_mount_targets,
    mount_target_security_groups,
)
from ansible_collections.sciplat.platform.plugins.module_utils.waiting import (
    Deadline,
    WaitError,
    check_wait_timeout,
    wait_for_status,
    waiting_argument_spec,
)

MAX_DELAY = 10.0
MAX_SECURITY_GROUPS = 5
# The status reported by the set wait when every listed mount target is there and every deleted one gone.
READY = "ready"


class MountTargetsManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.fs_id: str = module.params["file_system_id"]
        self.subnets: list[str] = module.params["subnets"]
        self.deadline = Deadline(module.params["wait_timeout"])
        self.changed = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}
        self._ec2: Any = None
        # Security groups known per mount target ID (read, or set by this run).
        self.groups: dict[str, list[str] | None] = {}

    @property
    def ec2(self) -> Any:
        if self._ec2 is None:
            self._ec2 = self.module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
        return self._ec2

    def fail_aws(self, e: Exception, action: str) -> None:
        self.module.fail_json_aws(
            e, msg=f"Couldn't {action} of EFS file system {self.fs_id}", changed=self.changed
        )

    # --- reads -------------------------------------------------------------------------------

    def mount_targets(self) -> list[dict[str, Any]]:
        try:
            return list_mount_targets(self.client, self.fs_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "list the mount targets")

    def security_groups_of(self, mount_target_id: str) -> list[str] | None:
        try:
            return mount_target_security_groups(self.client, mount_target_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, f"read the security groups of mount target {mount_target_id}")

    def describe_subnets(self, subnet_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not subnet_ids:
            return {}
        try:
            found = self.ec2.describe_subnets(aws_retry=True, SubnetIds=subnet_ids)["Subnets"]
        except is_boto3_error_code("InvalidSubnetID.NotFound") as e:
            self.module.fail_json(
                msg=f"subnets: {e.response['Error'].get('Message') or 'a subnet does not exist'}"
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe subnets {', '.join(subnet_ids)}")
        by_id = {s["SubnetId"]: s for s in found}
        missing = [s for s in subnet_ids if s not in by_id]
        if missing:
            self.module.fail_json(msg=f"subnets: no such subnet(s): {', '.join(missing)}")
        return by_id

    def security_group_ids(self, vpc_id: str | None) -> list[str] | None:
        groups = self.params["security_groups"]
        if groups is None or all(g.startswith("sg-") for g in groups):
            return sorted(set(groups)) if groups is not None else None
        if vpc_id is None:
            self.module.fail_json(msg="security_groups: names need a subnet to find the VPC; give group IDs")
        try:
            return sorted(set(get_ec2_security_group_ids_from_names(groups, self.ec2.client, vpc_id)))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg="Couldn't look up the security_groups by name")

    # --- plan --------------------------------------------------------------------------------

    @staticmethod
    def view(entries: list[dict[str, Any]]) -> dict[str, Any]:
        """{subnet: {availability_zone_name, security_groups}} for the diff."""
        return {
            e["SubnetId"]: {
                "availability_zone_name": e.get("AvailabilityZoneName"),
                "security_groups": e.get("SecurityGroups"),
            }
            for e in sorted(entries, key=lambda e: e["SubnetId"])
        }

    def plan(
        self, current: list[dict[str, Any]]
    ) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]], list[tuple[dict[str, Any], list[str]]], list[str] | None
    ]:
        """(to create, to delete, to modify (mount target, groups), security groups wanted)."""
        by_subnet = {mt["SubnetId"]: mt for mt in current}
        listed = set(self.subnets)
        to_delete = [mt for mt in current if mt["SubnetId"] not in listed] if self.params["purge"] else []
        new_ids = [s for s in self.subnets if s not in by_subnet]
        subnets = self.describe_subnets(new_ids)
        staying = [mt for mt in current if mt not in to_delete]

        vpcs = {mt.get("VpcId") for mt in staying} | {subnets[s]["VpcId"] for s in new_ids}
        vpcs.discard(None)
        if len(vpcs) > 1:
            where = [f"{mt['SubnetId']} ({mt.get('VpcId')}, has a mount target)" for mt in staying] + [
                f"{s} ({subnets[s]['VpcId']})" for s in new_ids
            ]
            self.module.fail_json(
                msg="subnets: the mount targets of a file system must all be in one VPC;"
                f" got {', '.join(where)}"
            )
        groups = self.security_group_ids(next(iter(vpcs), None))
        if groups is not None and not 1 <= len(groups) <= MAX_SECURITY_GROUPS:
            self.module.fail_json(
                msg=f"security_groups: a mount target takes 1 to {MAX_SECURITY_GROUPS} security groups,"
                f" got {len(groups)}"
            )

        zones: dict[str, str] = {}
        for mt in staying:
            zones[mt["AvailabilityZoneName"]] = mt["SubnetId"]
        to_create: list[dict[str, Any]] = []
        for subnet_id in new_ids:
            zone = subnets[subnet_id]["AvailabilityZone"]
            holder = zones.get(zone)
            if holder is not None:
                if holder in listed:
                    self.module.fail_json(
                        msg=f"subnets: {holder} and {subnet_id} are both in {zone}; EFS allows one mount"
                        " target per Availability Zone - list one subnet per zone"
                    )
                self.module.fail_json(
                    msg=f"subnets: {subnet_id} is in {zone}, where file system {self.fs_id} has a mount"
                    f" target in {holder} (not listed); EFS allows one per Availability Zone - list {holder}"
                    " instead, or set purge: true to replace that mount target"
                )
            zones[zone] = subnet_id
            to_create.append(
                {
                    "SubnetId": subnet_id,
                    "AvailabilityZoneName": zone,
                    "AvailabilityZoneId": subnets[subnet_id].get("AvailabilityZoneId"),
                    "VpcId": subnets[subnet_id]["VpcId"],
                    "LifeCycleState": "creating",
                    "SecurityGroups": groups,
                }
            )

        to_modify: list[tuple[dict[str, Any], list[str]]] = []
        if groups is not None:
            for mt in staying:
                if mt["LifeCycleState"] == "deleting" or mt["SubnetId"] not in listed:
                    continue
                current_groups = self.groups.get(mt["MountTargetId"])
                if (
                    current_groups is None
                    and mt["LifeCycleState"] == "creating"
                    and not self.module.check_mode
                ):
                    # EFS reports the groups of a mount target only once it is available.
                    current_groups = self.security_groups_of(self.wait_available(mt)["MountTargetId"])
                    self.groups[mt["MountTargetId"]] = current_groups
                if current_groups != groups:
                    to_modify.append((mt, groups))
        return to_create, to_delete, to_modify, groups

    # --- present -----------------------------------------------------------------------------

    def ensure(self) -> list[dict[str, Any]]:
        if len(set(self.subnets)) != len(self.subnets):
            doubles = sorted({s for s in self.subnets if self.subnets.count(s) > 1})
            self.module.fail_json(msg=f"subnets: listed more than once: {', '.join(doubles)}")
        try:
            fs = describe_file_system(self.client, self.fs_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Couldn't describe EFS file system {self.fs_id}")
        if fs is None:
            if self.module.check_mode:
                return self.plan_for_missing_file_system()
            self.module.fail_json(
                msg=f"file_system_id: there is no EFS file system {self.fs_id}"
                f" in {self.client.meta.region_name}"
            )

        current = self.mount_targets()
        for mt in current:
            if mt["LifeCycleState"] == "available":
                self.groups[mt["MountTargetId"]] = self.security_groups_of(mt["MountTargetId"])
        to_create, to_delete, to_modify, groups = self.plan(current)

        before = [{**mt, "SecurityGroups": self.groups.get(mt["MountTargetId"])} for mt in current]
        deleted_ids = {mt["MountTargetId"] for mt in to_delete}
        modified = {mt["MountTargetId"]: g for mt, g in to_modify}
        after = [
            {**mt, "SecurityGroups": modified.get(mt["MountTargetId"], self.groups.get(mt["MountTargetId"]))}
            for mt in current
            if mt["MountTargetId"] not in deleted_ids
        ] + to_create
        self.diff = {"before": self.view(before), "after": self.view(after)}
        self.changed = bool(to_create or to_delete or to_modify)

        if self.module.check_mode or not self.changed:
            settled = all(
                mt["LifeCycleState"] == "available" for mt in current if mt["SubnetId"] in self.subnets
            )
            if not self.changed and self.params["wait"] and not settled:
                return self.wait_for_set([])
            return after

        self.delete(to_delete, to_create)
        self.create(fs, to_create, groups)
        for mt, wanted in to_modify:
            self.modify(mt, wanted)
        if self.params["wait"]:
            return self.wait_for_set(to_delete)
        return [
            {**mt, "SecurityGroups": self.groups.get(mt.get("MountTargetId", ""))}
            for mt in self.mount_targets()
        ]

    def plan_for_missing_file_system(self) -> list[dict[str, Any]]:
        subnets = self.describe_subnets(self.subnets)
        planned = [
            {
                "SubnetId": s,
                "AvailabilityZoneName": subnets[s]["AvailabilityZone"],
                "VpcId": subnets[s]["VpcId"],
                "LifeCycleState": "creating",
                "SecurityGroups": self.params["security_groups"],
            }
            for s in self.subnets
        ]
        self.changed = bool(planned)
        self.diff = {"before": {}, "after": self.view(planned)}
        return planned

    def delete(self, to_delete: list[dict[str, Any]], to_create: list[dict[str, Any]]) -> None:
        for mt in to_delete:
            if mt["LifeCycleState"] == "deleting":
                continue
            try:
                self.client.delete_mount_target(aws_retry=True, MountTargetId=mt["MountTargetId"])
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail_aws(e, f"delete mount target {mt['MountTargetId']} in {mt['SubnetId']}")
        # A new mount target in the same Availability Zone must wait for the old one to be gone.
        zones = {mt["AvailabilityZoneName"] for mt in to_create}
        blocking = [mt for mt in to_delete if mt["AvailabilityZoneName"] in zones]
        if blocking:
            self.wait_for_set(blocking, only_deletions=True)

    def create(self, fs: dict[str, Any], to_create: list[dict[str, Any]], groups: list[str] | None) -> None:
        if to_create and fs.get("LifeCycleState") != "available":
            self.wait_for_file_system()
        for planned in to_create:
            request: dict[str, Any] = {"FileSystemId": self.fs_id, "SubnetId": planned["SubnetId"]}
            if groups is not None:
                request["SecurityGroups"] = groups
            try:
                created = self.client.create_mount_target(aws_retry=True, **request)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.fail_aws(e, f"create a mount target in {planned['SubnetId']}")
            self.groups[created["MountTargetId"]] = groups

    def modify(self, mt: dict[str, Any], groups: list[str]) -> None:
        try:
            self.client.modify_mount_target_security_groups(
                aws_retry=True, MountTargetId=mt["MountTargetId"], SecurityGroups=groups
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, f"change the security groups of mount target {mt['MountTargetId']}")
        self.groups[mt["MountTargetId"]] = groups

    # --- waiting -----------------------------------------------------------------------------

    def wait_for_set(
        self, deleted: list[dict[str, Any]], *, only_deletions: bool = False
    ) -> list[dict[str, Any]]:
        """Wait until the listed subnets' mount targets are available and ``deleted`` ones gone."""
        gone_ids = {mt["MountTargetId"] for mt in deleted}
        listed = set(self.subnets)
        last: list[dict[str, Any]] = []

        def describe() -> dict[str, Any]:
            nonlocal last
            last = self.mount_targets()
            pending = []
            for mt in last:
                if mt["MountTargetId"] in gone_ids:
                    pending.append(f"{mt['MountTargetId']} in {mt['SubnetId']} {mt['LifeCycleState']}")
                elif not only_deletions and mt["SubnetId"] in listed and mt["LifeCycleState"] != "available":
                    if mt["LifeCycleState"] == "error":
                        return {"status": "error", "detail": f"{mt['MountTargetId']} in {mt['SubnetId']}"}
                    pending.append(f"{mt['MountTargetId']} in {mt['SubnetId']} {mt['LifeCycleState']}")
            return {"status": "; ".join(pending) if pending else READY}

        try:
            wait_for_status(
                describe,
                want={READY},
                fail_on={"error"},
                deadline=self.deadline,
                what=f"Mount targets of {self.fs_id}",
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            detail = (e.resource or {}).get("detail")
            self.module.fail_json(
                msg=f"{e}{f' ({detail})' if detail else ''}",
                changed=self.changed,
                file_system_id=self.fs_id,
                mount_targets=self.result(last),
            )
        for mt in last:
            if self.groups.get(mt["MountTargetId"]) is None and mt["LifeCycleState"] == "available":
                self.groups[mt["MountTargetId"]] = self.security_groups_of(mt["MountTargetId"])
        return [{**mt, "SecurityGroups": self.groups.get(mt["MountTargetId"])} for mt in last]

    def wait_available(self, mt: dict[str, Any]) -> dict[str, Any]:
        def describe() -> dict[str, Any] | None:
            return next((m for m in self.mount_targets() if m["MountTargetId"] == mt["MountTargetId"]), None)

        try:
            found = wait_for_status(
                describe,
                want={"available"},
                fail_on={"error"},
                deadline=self.deadline,
                what=f"Mount target {mt['MountTargetId']} of {self.fs_id}",
                status_of=lambda m: m.get("LifeCycleState"),
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            self.module.fail_json(msg=str(e), changed=self.changed, file_system_id=self.fs_id)
        assert found is not None
        return found

    def wait_for_file_system(self) -> None:
        def describe() -> dict[str, Any] | None:
            try:
                return describe_file_system(self.client, self.fs_id)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.module.fail_json_aws(e, msg=f"Couldn't describe EFS file system {self.fs_id}")

        try:
            wait_for_status(
                describe,
                want={"available"},
                fail_on={"error", "deleting"},
                deadline=self.deadline,
                what=f"EFS file system {self.fs_id}",
                status_of=lambda fs: fs.get("LifeCycleState"),
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            self.module.fail_json(msg=str(e), changed=self.changed, file_system_id=self.fs_id)

    # --- results -----------------------------------------------------------------------------

    @staticmethod
    def result(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = (
            "MountTargetId",
            "SubnetId",
            "AvailabilityZoneName",
            "AvailabilityZoneId",
            "IpAddress",
            "LifeCycleState",
            "SecurityGroups",
            "NetworkInterfaceId",
            "VpcId",
        )
        rows = [efs_result({k: e[k] for k in keys if e.get(k) is not None}) for e in entries]
        return sorted(rows, key=lambda r: (r.get("availability_zone_name") or "", r.get("subnet_id") or ""))


def main() -> None:
    argument_spec = dict(
        file_system_id=dict(type="str", required=True),
        subnets=dict(type="list", elements="str", required=True),
        security_groups=dict(type="list", elements="str"),
        purge=dict(type="bool", default=False),
        **waiting_argument_spec(600),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    check_wait_timeout(module)

    client = module.client("efs", retry_decorator=AWSRetry.jittered_backoff())
    manager = MountTargetsManager(module, client)
    mount_targets = manager.ensure()
    result: dict[str, Any] = {
        "file_system_id": module.params["file_system_id"],
        "mount_targets": manager.result(mount_targets),
    }
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
