#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_access_point
version_added: 0.1.0
short_description: Manage Amazon EFS access points
description:
  - Create and delete an EFS access point - an application entry point into a file system that
    enforces a POSIX user and a root directory (created with a given owner and permissions when
    it does not exist).
  - amazon.aws and community.aws have no module for EFS access points.
  - The access point is found by its C(Name) tag (O(name)) among the access points of the file
    system; when none has it (tags removed by hand), by an access point without a C(Name) tag that
    has the same POSIX user and root directory path, which is then re-tagged with a warning.
  - EFS cannot change an access point, only its tags. When the POSIX user or the root directory
    differ from the existing access point, the task fails naming the parameter, unless
    O(recreate=true) - then the access point is deleted and created again (with a new ID; clients
    that mounted through it must remount), which the diff and a warning announce.
author:
  - Science platform deployment kit maintainers
options:
  file_system_id:
    description: ID of the file system (see M(sciplat.platform.efs_filesystem)).
    type: str
    required: true
  name:
    description: The C(Name) tag of the access point, which identifies it within the file system.
    type: str
    required: true
  posix_user:
    description:
      - The POSIX identity every file-system request through the access point uses, whatever the
        client's own user is.
      - When omitted, a new access point enforces no user, and the user of an existing one is not
        checked.
    type: dict
    suboptions:
      uid:
        description: User ID (0 to 4294967295).
        type: int
        required: true
      gid:
        description: Group ID (0 to 4294967295).
        type: int
        required: true
      secondary_gids:
        description: Secondary group IDs, at most 16. Order does not matter.
        type: list
        elements: int
        default: []
  root_directory:
    description:
      - The directory of the file system that the access point exposes as its root.
      - When omitted, a new access point exposes the file system's root (V(/)), and the root
        directory of an existing one is not checked.
    type: dict
    suboptions:
      path:
        description:
          - Absolute path, at most four levels deep (EFS API reference, RootDirectory).
          - A trailing C(/) is ignored.
        type: str
        default: /
      creation_info:
        description:
          - Owner and permissions EFS gives the root directory when it creates it (the first time
            a client mounts through the access point and the path does not exist). Without it, a
            missing path makes mounts fail.
        type: dict
        suboptions:
          owner_uid:
            description: Owner user ID.
            type: int
            required: true
          owner_gid:
            description: Owner group ID.
            type: int
            required: true
          permissions:
            description:
              - POSIX permissions as an octal string of 3 or 4 digits, for example V('0755').
                Quote it - YAML reads an unquoted C(0755) as the number 493.
            type: str
            required: true
  recreate:
    description:
      - Delete and create the access point again when its POSIX user or root directory differ
        from the parameters. Without it such a difference fails the task.
    type: bool
    default: false
  state:
    description: Whether the access point should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait until the access point is C(available) (O(state=present)) or gone (O(state=absent)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds the whole task may spend waiting.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags.modules
  - amazon.aws.boto3
notes:
  - Supports check mode and diff mode. In check mode only read calls are made.
  - The C(Name) tag is O(name); it is kept when O(purge_tags=true), and O(tags) may not set a
    different one.
  - In check mode a file system that does not exist yet (a check run of a new site) is reported as
    getting the access point.
"""

EXAMPLES = r"""
- name: Homes root owned by the notebook user (jovyan, 1000:100).
  sciplat.platform.efs_access_point:
    file_system_id: "{{ homes.file_system_id }}"
    name: homes
    posix_user:
      uid: 1000
      gid: 100
    root_directory:
      path: /homes
      creation_info:
        owner_uid: 1000
        owner_gid: 100
        permissions: "0755"
    tags:
      site: archive
  register: homes_ap

- name: Change the root directory of an access point (new ID; clients remount).
  sciplat.platform.efs_access_point:
    file_system_id: "{{ homes.file_system_id }}"
    name: homes
    posix_user: {uid: 1000, gid: 100}
    root_directory: {path: /home, creation_info: {owner_uid: 1000, owner_gid: 100, permissions: "0755"}}
    recreate: true

- name: Remove an access point (the files stay on the file system).
  sciplat.platform.efs_access_point:
    file_system_id: fs-0123456789abcdef0
    name: scratch
    state: absent
"""

RETURN = r"""
access_point_id:
  description: ID of the access point.
  returned: when the access point exists (not for a creation in check mode)
  type: str
  sample: fsap-0123456789abcdef0
access_point_arn:
  description: ARN of the access point.
  returned: when the access point exists
  type: str
  sample: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0
file_system_id:
  description: ID of the file system.
  returned: when state is present
  type: str
  sample: fs-0123456789abcdef0
name:
  description: The C(Name) tag.
  returned: when state is present
  type: str
  sample: homes
posix_user:
  description: The enforced POSIX user.
  returned: when the access point has one
  type: dict
  contains:
    uid:
      description: User ID.
      type: int
    gid:
      description: Group ID.
      type: int
    secondary_gids:
      description: Secondary group IDs.
      type: list
      elements: int
  sample: {"uid": 1000, "gid": 100, "secondary_gids": []}
root_directory:
  description: The exposed root directory.
  returned: when state is present
  type: dict
  contains:
    path:
      description: Path in the file system.
      type: str
    creation_info:
      description: Owner and permissions for its creation.
      type: dict
      contains:
        owner_uid:
          description: Owner user ID.
          type: int
        owner_gid:
          description: Owner group ID.
          type: int
        permissions:
          description: Octal permissions.
          type: str
  sample: {"path": "/homes", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "0755"}}
life_cycle_state:
  description: State of the access point (C(creating), C(available), ...).
  returned: when state is present
  type: str
  sample: available
tags:
  description: Tags of the access point, the C(Name) tag included.
  returned: when state is present
  type: dict
  sample: {"Name": "homes", "site": "archive"}
recreated:
  description: Whether the access point was (or in check mode would be) deleted and created again.
  returned: always
  type: bool
  sample: false
"""

import contextlib
import re
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.sciplat.platform.plugins.module_utils.efs import (
    apply_efs_tags,
    describe_access_point,
    describe_file_system,
    desired_tags,
    efs_result,
    list_access_points,
    tags_of,
)
from ansible_collections.sciplat.platform.plugins.module_utils.tagging import (
    TAGGING_ARGUMENT_SPEC,
    tag_changes,
    tags_after,
)
from ansible_collections.sciplat.platform.plugins.module_utils.waiting import (
    GONE,
    Deadline,
    WaitError,
    check_wait_timeout,
    wait_for_status,
    waiting_argument_spec,
)

MAX_DELAY = 5.0
MAX_ID = 4294967295
MAX_SECONDARY_GIDS = 16
# RootDirectory.Path in botocore's EFS model: "/" or up to four components, none starting with a dot.
PATH = re.compile(r"^(\/|(\/(?!\.)+[^$#<>;`|&?{}^*/\n]+){1,4})$")
PERMISSIONS = re.compile(r"^[0-7]{3,4}$")


def normalize_path(path: str) -> str:
    return path.rstrip("/") or "/"


def validate(params: dict[str, Any]) -> str | None:
    """An error message naming the bad parameter, or None."""
    user = params["posix_user"]
    if user is not None:
        for key in ("uid", "gid"):
            if not 0 <= user[key] <= MAX_ID:
                return f"posix_user.{key} must be 0 to {MAX_ID}, got {user[key]}"
        gids = user["secondary_gids"] or []
        if len(gids) > MAX_SECONDARY_GIDS:
            return f"posix_user.secondary_gids takes at most {MAX_SECONDARY_GIDS} group IDs, got {len(gids)}"
        bad = [g for g in gids if not 0 <= g <= MAX_ID]
        if bad:
            return f"posix_user.secondary_gids must be 0 to {MAX_ID}, got {bad}"
    root = params["root_directory"]
    if root is not None:
        path = normalize_path(root["path"] or "/")
        if len(path) > 100 or not PATH.match(path):
            return (
                "root_directory.path must be an absolute path of at most 4 levels and 100 characters,"
                f" without components starting with a dot or characters $#<>;`|&?{{}}^*, got {root['path']!r}"
            )
        info = root["creation_info"]
        if info is not None:
            for key in ("owner_uid", "owner_gid"):
                if not 0 <= info[key] <= MAX_ID:
                    return f"root_directory.creation_info.{key} must be 0 to {MAX_ID}, got {info[key]}"
            if not PERMISSIONS.match(info["permissions"]):
                return (
                    "root_directory.creation_info.permissions must be 3 or 4 octal digits as a quoted string"
                    f" (e.g. '0755'), got {info['permissions']!r}"
                )
    return None


def name_tag(ap: dict[str, Any]) -> str | None:
    """The access point's Name tag, read from its tags: the Name field is not refreshed everywhere when
    the tag is removed or changed (moto keeps the creation-time value)."""
    return {t["Key"]: t["Value"] for t in ap.get("Tags") or []}.get("Name")


def user_spec(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """A PosixUser (API shape or parameters) in one comparable form."""
    if not user:
        return None
    return {
        "uid": int(user.get("Uid", user.get("uid"))),
        "gid": int(user.get("Gid", user.get("gid"))),
        "secondary_gids": sorted(int(g) for g in user.get("SecondaryGids", user.get("secondary_gids")) or []),
    }


def root_spec(root: dict[str, Any] | None) -> dict[str, Any]:
    """A RootDirectory (API shape or parameters) in one comparable form; permissions as octal text."""
    root = root or {}
    info = root.get("CreationInfo", root.get("creation_info"))
    spec: dict[str, Any] = {
        "path": normalize_path(root.get("Path", root.get("path")) or "/"),
        "creation_info": None,
    }
    if info:
        permissions = str(info.get("Permissions", info.get("permissions")))
        spec["creation_info"] = {
            "owner_uid": int(info.get("OwnerUid", info.get("owner_uid"))),
            "owner_gid": int(info.get("OwnerGid", info.get("owner_gid"))),
            "permissions": f"{int(permissions, 8):04o}",
        }
    return spec


def user_text(user: dict[str, Any] | None) -> str:
    if not user:
        return "no POSIX user"
    text = f"uid {user['uid']} gid {user['gid']}"
    if user["secondary_gids"]:
        text += f" secondary gids {user['secondary_gids']}"
    return text


def root_text(root: dict[str, Any]) -> str:
    text = f"path {root['path']}"
    info = root.get("creation_info")
    if info:
        return f"{text} created as {info['owner_uid']}:{info['owner_gid']} {info['permissions']}"
    return f"{text} without creation_info"


class AccessPointManager:
    def __init__(self, module: AnsibleAWSModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.fs_id: str = module.params["file_system_id"]
        self.name: str = module.params["name"]
        self.deadline = Deadline(module.params["wait_timeout"])
        self.changed = False
        self.recreated = False
        self.diff: dict[str, Any] = {"before": {}, "after": {}}

    def fail_aws(self, e: Exception, action: str) -> None:
        self.module.fail_json_aws(
            e,
            msg=f"Couldn't {action} access point {self.name} of EFS file system {self.fs_id}",
            changed=self.changed,
        )

    # --- reads -------------------------------------------------------------------------------

    def find(self) -> dict[str, Any] | None:
        """The access point called ``name``; None when the file system does not exist (check mode)."""
        try:
            if describe_file_system(self.client, self.fs_id) is None:
                if self.module.check_mode or self.params["state"] == "absent":
                    # Nothing to delete; or a check run before the file system exists.
                    return None
                self.module.fail_json(
                    msg=f"file_system_id: there is no EFS file system {self.fs_id}"
                    f" in {self.client.meta.region_name}"
                )
            live = [
                ap
                for ap in list_access_points(self.client, self.fs_id)
                if ap.get("LifeCycleState") != "deleting"
            ]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "look up")
        named = [ap for ap in live if name_tag(ap) == self.name]
        if len(named) > 1:
            ids = ", ".join(sorted(ap["AccessPointId"] for ap in named))
            self.module.fail_json(
                msg=f"name: {len(named)} access points of {self.fs_id} are called {self.name} ({ids});"
                " delete the extra ones"
            )
        return named[0] if named else self.find_untagged(live)

    def find_untagged(self, live: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The access point whose tags were removed by hand: no Name tag, but this POSIX user and root
        directory. It is re-tagged (update_tags), not created a second time."""
        if self.params["root_directory"] is None and self.params["posix_user"] is None:
            return None
        same = [
            ap
            for ap in live
            if not name_tag(ap)
            and (
                self.params["posix_user"] is None
                or user_spec(self.params["posix_user"]) == user_spec(ap.get("PosixUser"))
            )
            and (
                self.params["root_directory"] is None
                or root_spec(self.params["root_directory"])["path"]
                == root_spec(ap.get("RootDirectory"))["path"]
            )
        ]
        if len(same) > 1:
            ids = ", ".join(sorted(ap["AccessPointId"] for ap in same))
            self.module.fail_json(
                msg=f"name: no access point of {self.fs_id} is called {self.name}, and {len(same)} without a"
                f" Name tag have its POSIX user and root directory ({ids}): tag the one to keep with"
                f" Name={self.name}"
                " and delete the others"
            )
        if same:
            self.module.warn(
                f"Access point {same[0]['AccessPointId']} of {self.fs_id} had lost its Name tag {self.name}"
                " (removed by hand?); it has this task's POSIX user and root directory, so it is re-tagged"
                " rather than created again"
            )
        return same[0] if same else None

    def describe(self, access_point_id: str) -> dict[str, Any] | None:
        try:
            return describe_access_point(self.client, access_point_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "describe")

    # --- views -------------------------------------------------------------------------------

    @staticmethod
    def view(ap: dict[str, Any] | None) -> dict[str, Any]:
        if not ap:
            return {}
        return {
            "access_point_id": ap.get("AccessPointId"),
            "name": name_tag(ap),
            "posix_user": user_spec(ap.get("PosixUser")),
            "root_directory": root_spec(ap.get("RootDirectory")),
            "tags": tags_of(ap),
        }

    @staticmethod
    def result(ap: dict[str, Any]) -> dict[str, Any]:
        result = efs_result({k: v for k, v in ap.items() if k not in ("PosixUser", "RootDirectory")})
        result.pop("client_token", None)
        if ap.get("PosixUser"):
            result["posix_user"] = user_spec(ap["PosixUser"])
        result["root_directory"] = root_spec(ap.get("RootDirectory"))
        if result["root_directory"]["creation_info"] is None:
            del result["root_directory"]["creation_info"]
        return result

    # --- present -----------------------------------------------------------------------------

    def differences(self, ap: dict[str, Any]) -> list[str]:
        """What the parameters ask that the access point does not have, one line per parameter."""
        problems = []
        user = self.params["posix_user"]
        if user is not None:
            wanted, current = user_spec(user), user_spec(ap.get("PosixUser"))
            if wanted != current:
                problems.append(
                    f"posix_user: access point has {user_text(current)}, asked {user_text(wanted)}"
                )
        root = self.params["root_directory"]
        if root is not None:
            wanted_root, current_root = root_spec(root), root_spec(ap.get("RootDirectory"))
            if wanted_root != current_root:
                problems.append(
                    f"root_directory: access point has {root_text(current_root)},"
                    f" asked {root_text(wanted_root)}"
                )
        return problems

    def ensure_present(self) -> dict[str, Any]:
        ap = self.find()
        if ap is None:
            return self.create(before={})
        problems = self.differences(ap)
        if problems and not self.params["recreate"]:
            self.module.fail_json(
                msg=f"Access point {self.name} ({ap['AccessPointId']}) of {self.fs_id} differs:"
                f" {'; '.join(problems)}."
                " EFS cannot change an access point; set recreate: true to delete it and create it again"
                " (it gets a new ID and clients that mounted through it must remount)",
                access_point_id=ap["AccessPointId"],
            )
        if problems:
            return self.recreate(ap, problems)
        return self.update_tags(ap)

    def request(self, tags: dict[str, str]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "FileSystemId": self.fs_id,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        user = user_spec(self.params["posix_user"])
        if user is not None:
            request["PosixUser"] = {"Uid": user["uid"], "Gid": user["gid"]}
            if user["secondary_gids"]:
                request["PosixUser"]["SecondaryGids"] = user["secondary_gids"]
        if self.params["root_directory"] is not None:
            root = root_spec(self.params["root_directory"])
            request["RootDirectory"] = {"Path": root["path"]}
            info = root["creation_info"]
            if info:
                request["RootDirectory"]["CreationInfo"] = {
                    "OwnerUid": info["owner_uid"],
                    "OwnerGid": info["owner_gid"],
                    "Permissions": info["permissions"],
                }
        return request

    def create(self, before: dict[str, Any], current_tags: dict[str, str] | None = None) -> dict[str, Any]:
        """Create the access point; ``current_tags`` are the tags of the one it replaces."""
        wanted, purge = desired_tags(self.name, self.params["tags"], self.params["purge_tags"])
        to_set, to_unset = tag_changes(current_tags or {}, wanted, purge)
        request = self.request(tags_after(current_tags or {}, to_set, to_unset))
        planned = {
            "Name": self.name,
            "FileSystemId": self.fs_id,
            "PosixUser": request.get("PosixUser"),
            "RootDirectory": request.get("RootDirectory") or {"Path": "/"},
            "Tags": request["Tags"],
            "LifeCycleState": "creating",
        }
        self.changed = True
        after = self.view(planned)
        after["access_point_id"] = "(new)" if self.recreated else None
        if self.recreated:
            after["recreated"] = True
        self.diff = {"before": before, "after": {k: v for k, v in after.items() if v is not None}}
        if self.module.check_mode:
            return self.result({k: v for k, v in planned.items() if v is not None})
        try:
            ap = self.client.create_access_point(aws_retry=True, **request)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "create")
        if self.params["wait"]:
            ap = self.wait(ap["AccessPointId"], {"available"}) or ap
        return self.result(ap)

    def recreate(self, ap: dict[str, Any], problems: list[str]) -> dict[str, Any]:
        self.recreated = True
        verb = "would be" if self.module.check_mode else "is"
        self.module.warn(
            f"Access point {self.name} ({ap['AccessPointId']}) of {self.fs_id} {verb} deleted and created"
            f" again (recreate: true) because {'; '.join(problems)}."
            " Clients that mounted through it must remount."
        )
        if not self.module.check_mode:
            self.delete(ap)
            # Creating before the old one is gone is allowed; the lookup by name skips deleting ones.
        return self.create(before=self.view(ap), current_tags=tags_of(ap))

    def update_tags(self, ap: dict[str, Any]) -> dict[str, Any]:
        current = tags_of(ap)
        wanted, purge = desired_tags(self.name, self.params["tags"], self.params["purge_tags"])
        to_set, to_unset = tag_changes(current, wanted, purge)
        after = dict(ap)
        after["Tags"] = [{"Key": k, "Value": v} for k, v in tags_after(current, to_set, to_unset).items()]
        self.diff = {"before": self.view(ap), "after": self.view(after)}
        self.changed = apply_efs_tags(self.module, self.client, ap["AccessPointId"], to_set, to_unset)
        if self.params["wait"] and ap.get("LifeCycleState") != "available" and not self.module.check_mode:
            return self.result(
                {**(self.wait(ap["AccessPointId"], {"available"}) or ap), "Tags": after["Tags"]}
            )
        return self.result(after)

    # --- absent ------------------------------------------------------------------------------

    def ensure_absent(self) -> None:
        ap = self.find()
        self.diff = {"before": self.view(ap), "after": {}}
        if ap is None:
            return
        self.changed = True
        if self.module.check_mode:
            return
        self.delete(ap)
        if self.params["wait"]:
            self.wait(ap["AccessPointId"], {GONE})

    def delete(self, ap: dict[str, Any]) -> None:
        try:
            self.client.delete_access_point(aws_retry=True, AccessPointId=ap["AccessPointId"])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.fail_aws(e, "delete")

    # --- waiting -----------------------------------------------------------------------------

    def wait(self, access_point_id: str, want: set[str]) -> dict[str, Any] | None:
        try:
            return wait_for_status(
                lambda: self.describe(access_point_id),
                want=want,
                fail_on={"error"},
                deadline=self.deadline,
                what=f"Access point {self.name} ({access_point_id}) of {self.fs_id}",
                status_of=lambda ap: ap.get("LifeCycleState"),
                max_delay=MAX_DELAY,
            )
        except WaitError as e:
            self.module.fail_json(
                msg=str(e),
                changed=self.changed,
                recreated=self.recreated,
                **{**(self.result(e.resource) if e.resource else {}), "life_cycle_state": e.status},
            )


def main() -> None:
    argument_spec = dict(
        file_system_id=dict(type="str", required=True),
        name=dict(type="str", required=True),
        posix_user=dict(
            type="dict",
            options=dict(
                uid=dict(type="int", required=True),
                gid=dict(type="int", required=True),
                secondary_gids=dict(type="list", elements="int", default=[]),
            ),
        ),
        root_directory=dict(
            type="dict",
            options=dict(
                path=dict(type="str", default="/"),
                creation_info=dict(
                    type="dict",
                    options=dict(
                        owner_uid=dict(type="int", required=True),
                        owner_gid=dict(type="int", required=True),
                        permissions=dict(type="str", required=True),
                    ),
                ),
            ),
        ),
        recreate=dict(type="bool", default=False),
        **TAGGING_ARGUMENT_SPEC,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **waiting_argument_spec(300),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    check_wait_timeout(module)
    problem = validate(params)
    if problem:
        module.fail_json(msg=problem)
    name_tag = (params["tags"] or {}).get("Name")
    if name_tag is not None and str(name_tag) != params["name"]:
        module.fail_json(msg=f"tags: the Name tag is name ({params['name']}); tags asks Name={name_tag}")

    client = module.client("efs", retry_decorator=AWSRetry.jittered_backoff())
    manager = AccessPointManager(module, client)
    result: dict[str, Any] = {}
    if params["state"] == "present":
        result = manager.ensure_present()
    else:
        manager.ensure_absent()
    result["recreated"] = manager.recreated
    if module._diff:
        result["diff"] = manager.diff
    module.exit_json(changed=manager.changed, **result)


if __name__ == "__main__":
    main()
