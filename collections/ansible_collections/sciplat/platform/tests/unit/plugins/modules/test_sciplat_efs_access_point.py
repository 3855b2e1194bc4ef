"""sciplat.platform.efs_access_point against moto in-process, and Stubber for waits.

moto's access points are available at once, so the waits run against stubbed answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from ansible.module_utils import basic
from ansible_collections.sciplat.platform.plugins.modules import efs_access_point
from moto import mock_aws

USER = {"uid": 1000, "gid": 100}
ROOT = {"path": "/homes", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "0755"}}


@pytest.fixture
def efs() -> Iterator[dict[str, Any]]:
    with mock_aws():
        client = boto3.client("efs", region_name="us-east-1")
        fs_id = client.create_file_system(CreationToken="homes", Encrypted=True)["FileSystemId"]
        yield {"client": client, "fs": fs_id}


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """The warnings the module gave (module.warn), in order."""
    given: list[str] = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **_: given.append(warning))
    return lambda: list(given)


def args(efs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"file_system_id": efs["fs"], "name": "homes", "posix_user": USER, "root_directory": ROOT, **extra}


def stored(efs: dict[str, Any]) -> list[dict[str, Any]]:
    return efs["client"].describe_access_points(FileSystemId=efs["fs"])["AccessPoints"]


# --- moto in-process ---------------------------------------------------------------------------


def test_create_returns_the_access_point(run_module, efs) -> None:
    out = run_module(efs_access_point, args(efs, tags={"site": "archive"}), diff=True)

    assert not out.failed, out.result
    result = out.result
    assert result["changed"] is True
    assert result["access_point_id"].startswith("fsap-")
    assert result["access_point_arn"].endswith(f":access-point/{result['access_point_id']}")
    assert result["file_system_id"] == efs["fs"]
    assert result["name"] == "homes"
    assert result["posix_user"] == {"uid": 1000, "gid": 100, "secondary_gids": []}
    assert result["root_directory"] == ROOT
    assert result["tags"] == {"Name": "homes", "site": "archive"}
    assert result["life_cycle_state"] == "available"
    assert result["recreated"] is False
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["root_directory"] == ROOT
    [ap] = stored(efs)
    assert ap["PosixUser"] == {"Uid": 1000, "Gid": 100}
    assert ap["RootDirectory"] == {
        "Path": "/homes",
        "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 100, "Permissions": "0755"},
    }


def test_second_run_changes_nothing(run_module, efs, clock) -> None:
    user = {"uid": 1000, "gid": 100, "secondary_gids": [200, 100]}
    first = run_module(efs_access_point, args(efs, posix_user=user, tags={"site": "archive"}))
    assert not first.failed, first.result

    # Same spec, written differently: gids reordered, permissions without the leading 0, a trailing /.
    root = {"path": "/homes/", "creation_info": {**ROOT["creation_info"], "permissions": "755"}}
    user = {"uid": 1000, "gid": 100, "secondary_gids": [100, 200]}
    out = run_module(
        efs_access_point, args(efs, posix_user=user, root_directory=root, tags={"site": "archive"}), diff=True
    )

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["access_point_id"] == first.result["access_point_id"]
    assert out.result["diff"]["before"] == out.result["diff"]["after"]
    assert clock.sleeps == []


def test_omitted_spec_is_not_checked(run_module, efs) -> None:
    first = run_module(efs_access_point, args(efs))

    out = run_module(efs_access_point, {"file_system_id": efs["fs"], "name": "homes"})

    assert not out.failed, out.result
    assert out.result["changed"] is False
    assert out.result["access_point_id"] == first.result["access_point_id"]


def test_tags_change_in_place(run_module, efs) -> None:
    first = run_module(efs_access_point, args(efs, tags={"a": "1"}))

    out = run_module(efs_access_point, args(efs, tags={"b": "2"}), diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["access_point_id"] == first.result["access_point_id"]
    assert out.result["tags"] == {"Name": "homes", "b": "2"}
    assert out.result["diff"]["before"]["tags"] == {"Name": "homes", "a": "1"}
    [ap] = stored(efs)
    assert {t["Key"]: t["Value"] for t in ap["Tags"]} == {"Name": "homes", "b": "2"}


def test_an_access_point_whose_tags_were_removed_by_hand_is_retagged_not_duplicated(
    run_module, efs, warnings
) -> None:
    first = run_module(efs_access_point, args(efs, tags={"site": "archive"}))
    ap_id = first.result["access_point_id"]
    efs["client"].untag_resource(ResourceId=ap_id, TagKeys=["Name", "site"])
    [untagged] = stored(efs)
    assert not untagged.get("Tags")  # (moto keeps the Name field; EFS derives it from the tag)

    check = run_module(efs_access_point, args(efs, tags={"site": "archive"}), check_mode=True)
    assert not check.failed, check.result
    assert check.result["changed"] is True and check.result["access_point_id"] == ap_id
    assert [ap["AccessPointId"] for ap in stored(efs)] == [ap_id]

    out = run_module(efs_access_point, args(efs, tags={"site": "archive"}))

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["access_point_id"] == ap_id
    [ap] = stored(efs)
    assert {t["Key"]: t["Value"] for t in ap["Tags"]} == {"Name": "homes", "site": "archive"}
    assert any(f"{ap_id} of {efs['fs']} had lost its Name tag homes" in w for w in warnings())


def test_two_untagged_access_points_with_the_spec_fail_naming_both(run_module, efs) -> None:
    ids = [
        run_module(efs_access_point, args(efs, name=name)).result["access_point_id"] for name in ("a", "b")
    ]
    for ap_id in ids:
        efs["client"].untag_resource(ResourceId=ap_id, TagKeys=["Name"])

    out = run_module(efs_access_point, args(efs))

    assert out.failed
    assert all(ap_id in out.result["msg"] for ap_id in ids)
    assert "tag the one to keep with Name=homes" in out.result["msg"]
    assert len(stored(efs)) == 2


def test_a_different_posix_user_fails_without_recreate(run_module, efs) -> None:
    first = run_module(efs_access_point, args(efs))
    ap_id = first.result["access_point_id"]

    out = run_module(efs_access_point, args(efs, posix_user={"uid": 1001, "gid": 100}))

    assert out.failed
    assert out.result["msg"] == (
        f"Access point homes ({ap_id}) of {efs['fs']} differs:"
        " posix_user: access point has uid 1000 gid 100, asked uid 1001 gid 100."
        " EFS cannot change an access point; set recreate: true to delete it and create it again"
        " (it gets a new ID and clients that mounted through it must remount)"
    )
    assert [ap["AccessPointId"] for ap in stored(efs)] == [ap_id]


def test_a_different_root_directory_fails_without_recreate(run_module, efs) -> None:
    run_module(efs_access_point, args(efs))

    root = {"path": "/home", "creation_info": {"owner_uid": 1000, "owner_gid": 100, "permissions": "0700"}}
    out = run_module(efs_access_point, args(efs, root_directory=root))

    assert out.failed
    assert (
        "root_directory: access point has path /homes created as 1000:100 0755,"
        " asked path /home created as 1000:100 0700."
    ) in out.result["msg"]


def test_recreate_replaces_the_access_point(run_module, efs, warnings) -> None:
    first = run_module(efs_access_point, args(efs, tags={"site": "archive"}))
    old_id = first.result["access_point_id"]

    out = run_module(
        efs_access_point, args(efs, posix_user={"uid": 1001, "gid": 100}, recreate=True, tags=None), diff=True
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["recreated"] is True
    assert out.result["access_point_id"] != old_id
    assert out.result["posix_user"]["uid"] == 1001
    assert out.result["tags"] == {"Name": "homes", "site": "archive"}  # carried over
    assert out.result["diff"]["before"]["access_point_id"] == old_id
    assert out.result["diff"]["after"]["access_point_id"] == "(new)"
    assert out.result["diff"]["after"]["recreated"] is True
    assert [ap["AccessPointId"] for ap in stored(efs)] == [out.result["access_point_id"]]
    [warning] = warnings()
    assert f"Access point homes ({old_id}) of {efs['fs']} is deleted and created again" in warning
    assert "posix_user: access point has uid 1000 gid 100, asked uid 1001 gid 100" in warning

    again = run_module(efs_access_point, args(efs, posix_user={"uid": 1001, "gid": 100}, recreate=True))
    assert not again.failed, again.result
    assert again.result["changed"] is False
    assert again.result["recreated"] is False


def test_check_mode_recreate_changes_nothing(run_module, efs, warnings) -> None:
    first = run_module(efs_access_point, args(efs))

    out = run_module(
        efs_access_point, args(efs, root_directory={"path": "/h"}, recreate=True), check_mode=True, diff=True
    )

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert out.result["recreated"] is True
    assert out.result["diff"]["after"]["root_directory"] == {"path": "/h", "creation_info": None}
    assert "would be deleted and created again" in warnings()[0]
    assert [ap["AccessPointId"] for ap in stored(efs)] == [first.result["access_point_id"]]


def test_check_mode_create_changes_nothing(run_module, efs) -> None:
    out = run_module(efs_access_point, args(efs), check_mode=True, diff=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert "access_point_id" not in out.result
    assert out.result["diff"]["after"]["posix_user"] == {"uid": 1000, "gid": 100, "secondary_gids": []}
    assert stored(efs) == []


def test_check_mode_before_the_file_system_exists(run_module, efs) -> None:
    out = run_module(efs_access_point, args(efs, file_system_id="fs-00000000"), check_mode=True)

    assert not out.failed, out.result
    assert out.result["changed"] is True


def test_missing_file_system_fails(run_module, efs) -> None:
    out = run_module(efs_access_point, args(efs, file_system_id="fs-00000000"))

    assert out.failed
    assert out.result["msg"] == "file_system_id: there is no EFS file system fs-00000000 in us-east-1"
    gone = run_module(efs_access_point, args(efs, file_system_id="fs-00000000", state="absent"))
    assert not gone.failed, gone.result
    assert gone.result["changed"] is False


def test_delete(run_module, efs) -> None:
    run_module(efs_access_point, args(efs))

    check = run_module(efs_access_point, args(efs, state="absent"), check_mode=True, diff=True)
    assert not check.failed, check.result
    assert check.result["changed"] is True
    assert check.result["diff"]["after"] == {}
    assert len(stored(efs)) == 1

    out = run_module(efs_access_point, args(efs, state="absent"))
    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert stored(efs) == []

    again = run_module(efs_access_point, args(efs, state="absent"))
    assert again.result["changed"] is False


def test_only_the_named_access_point_is_touched(run_module, efs) -> None:
    other = run_module(efs_access_point, args(efs, name="scratch", root_directory={"path": "/scratch"}))

    run_module(efs_access_point, args(efs))
    run_module(efs_access_point, args(efs, state="absent"))

    assert [ap["AccessPointId"] for ap in stored(efs)] == [other.result["access_point_id"]]


def test_two_access_points_with_the_name_fail(run_module, efs) -> None:
    for _ in range(2):
        efs["client"].create_access_point(FileSystemId=efs["fs"], Tags=[{"Key": "Name", "Value": "homes"}])

    out = run_module(efs_access_point, args(efs))

    assert out.failed
    assert out.result["msg"].startswith(f"name: 2 access points of {efs['fs']} are called homes (fsap-")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"root_directory": {"path": "homes"}}, "root_directory.path must be an absolute path"),
        (
            {"root_directory": {"path": "/a/b/c/d/e"}},
            "root_directory.path must be an absolute path of at most 4",
        ),
        ({"root_directory": {"path": "/.snapshot"}}, "root_directory.path must be an absolute path"),
        (
            {
                "root_directory": {
                    "path": "/h",
                    "creation_info": {"owner_uid": 1, "owner_gid": 1, "permissions": "493"},
                }
            },
            "root_directory.creation_info.permissions must be 3 or 4 octal digits as a quoted string",
        ),
        (
            {"root_directory": {"path": "/h", "creation_info": {"owner_uid": 1, "owner_gid": 1}}},
            "missing required arguments: permissions found in root_directory -> creation_info",
        ),
        ({"posix_user": {"uid": -1, "gid": 0}}, "posix_user.uid must be 0 to 4294967295, got -1"),
        (
            {"posix_user": {"uid": 1, "gid": 1, "secondary_gids": list(range(17))}},
            "at most 16 group IDs, got 17",
        ),
        ({"posix_user": {"gid": 1}}, "missing required arguments: uid found in posix_user"),
        ({"tags": {"Name": "other"}}, "tags: the Name tag is name (homes); tags asks Name=other"),
    ],
)
def test_bad_input_fails_naming_the_parameter(run_module, efs, extra, message) -> None:
    out = run_module(efs_access_point, args(efs, **extra))

    assert out.failed
    assert message in out.result["msg"], out.result["msg"]
    assert stored(efs) == []


# --- Stubber: waits ----------------------------------------------------------------------------

FS = "fs-0123456789abcdef0"
AP = "fsap-0123456789abcdef0"


def access_point(state: str, **extra: Any) -> dict[str, Any]:
    body = {
        "AccessPointId": AP,
        "AccessPointArn": f"arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/{AP}",
        "FileSystemId": FS,
        "Name": "homes",
        "LifeCycleState": state,
        "PosixUser": {"Uid": 1000, "Gid": 100},
        "RootDirectory": {"Path": "/"},
        "Tags": [{"Key": "Name", "Value": "homes"}],
    }
    body.update(extra)
    return body


def file_system_exists(stubs: Any) -> None:
    stubs.add(
        "efs",
        "describe_file_systems",
        {
            "FileSystems": [
                {
                    "OwnerId": "123456789012",
                    "CreationToken": "homes",
                    "FileSystemId": FS,
                    "CreationTime": "2026-11-25T10:00:00Z",
                    "LifeCycleState": "available",
                    "NumberOfMountTargets": 0,
                    "SizeInBytes": {"Value": 0},
                    "PerformanceMode": "generalPurpose",
                    "Tags": [],
                }
            ]
        },
        {"FileSystemId": FS},
    )


def by_id(stubs: Any, state: str) -> None:
    stubs.add("efs", "describe_access_points", {"AccessPoints": [access_point(state)]}, {"AccessPointId": AP})


def test_create_waits_until_available(run_module, stubs, clock) -> None:
    file_system_exists(stubs)
    stubs.add("efs", "describe_access_points", {"AccessPoints": []}, {"FileSystemId": FS})
    stubs.add(
        "efs",
        "create_access_point",
        access_point("creating"),
        {
            "FileSystemId": FS,
            "Tags": [{"Key": "Name", "Value": "homes"}],
            "PosixUser": {"Uid": 1000, "Gid": 100},
        },
    )
    by_id(stubs, "creating")
    by_id(stubs, "available")

    out = run_module(efs_access_point, {"file_system_id": FS, "name": "homes", "posix_user": USER})

    assert not out.failed, out.result
    assert out.result["life_cycle_state"] == "available"
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_create_times_out_at_the_deadline(run_module, stubs, clock) -> None:
    file_system_exists(stubs)
    stubs.add("efs", "describe_access_points", {"AccessPoints": []}, {"FileSystemId": FS})
    stubs.add("efs", "create_access_point", access_point("creating"))
    for _ in range(20):
        by_id(stubs, "creating")

    out = run_module(efs_access_point, {"file_system_id": FS, "name": "homes", "wait_timeout": 15})

    assert out.failed
    assert out.result["msg"].startswith(f"Access point homes ({AP}) of {FS} still creating after 15 s")
    assert out.result["changed"] is True
    assert out.result["life_cycle_state"] == "creating"
    assert sum(clock.sleeps) == pytest.approx(15)


def test_delete_waits_until_gone(run_module, stubs, clock) -> None:
    file_system_exists(stubs)
    stubs.add(
        "efs", "describe_access_points", {"AccessPoints": [access_point("available")]}, {"FileSystemId": FS}
    )
    stubs.add("efs", "delete_access_point", {}, {"AccessPointId": AP})
    by_id(stubs, "deleting")
    stubs.error("efs", "describe_access_points", "AccessPointNotFound", "gone", 404, {"AccessPointId": AP})

    out = run_module(efs_access_point, {"file_system_id": FS, "name": "homes", "state": "absent"})

    assert not out.failed, out.result
    assert out.result["changed"] is True
    assert clock.sleeps == [2.0]
    stubs.assert_done()


def test_a_deleting_access_point_is_not_found_by_name(run_module, stubs) -> None:
    file_system_exists(stubs)
    stubs.add(
        "efs", "describe_access_points", {"AccessPoints": [access_point("deleting")]}, {"FileSystemId": FS}
    )
    stubs.add("efs", "create_access_point", access_point("creating", AccessPointId="fsap-0123456789abcdef1"))

    out = run_module(efs_access_point, {"file_system_id": FS, "name": "homes", "wait": False})

    assert not out.failed, out.result
    assert out.result["access_point_id"] == "fsap-0123456789abcdef1"
    stubs.assert_done()


@pytest.mark.parametrize(
    ("given", "normal"),
    [({"path": "/a/"}, "/a"), ({"Path": "/"}, "/"), ({}, "/")],
)
def test_root_spec_paths(given, normal) -> None:
    assert efs_access_point.root_spec(given)["path"] == normal
