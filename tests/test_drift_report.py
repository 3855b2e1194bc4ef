"""`runbook drift`: one line per difference and one per site, read from ansible-runner's events.

The parsing is checked on results shaped as the modules return them (taken from a real check run of
the network stage); the whole command on the network stage of the local site in the session's
emulator: a tag changed by hand is named, and the check changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_run import ROOT, run_playbook
from runbooks_site import cli

from emulator.launcher import Emulator
from runbooks import drift

NETWORK_PLAY = "Build the site's network, phase 1 of 2, VPC and subnets."


def ok(task: str, res: dict[str, Any], play: str = NETWORK_PLAY, action: str = "amazon.aws.x") -> dict:
    return {
        "event": "runner_on_ok",
        "event_data": {"play": play, "task": task, "res": res, "resolved_action": action},
    }


# A VPC result of amazon.aws.ec2_vpc_net in check mode, trimmed: no diff, the tags it would set in its
# arguments, the VPC's current tags in the result.
VPC_RESULT = {
    "changed": True,
    "vpc": {"id": "vpc-1", "name": "local", "tags": {"Site": "local", "Owner": "someone-else"}},
    "invocation": {
        "module_args": {
            "name": "local",
            "purge_tags": True,
            "tags": {"Site": "local", "Owner": "platform-team"},
        }
    },
}


def test_stages_come_from_the_plays_tags() -> None:
    stages = drift.play_stages(ROOT / "playbooks" / "site.yml")
    assert stages["Build the site's network, phase 1 of 2, VPC and subnets."] == "network"
    assert stages["Finish the site's EKS cluster, its node groups and add-ons."] == "cluster"
    assert stages["Build the site's home filesystem."] == "storage"  # followed into storage.yml
    assert stages["Validate every stage's inputs."] == "Validate every stage's inputs."  # tag always
    assert drift.stages() == [
        "backup",
        "cluster",
        "host",
        "hub",
        "images",
        "monitoring",
        "network",
        "storage",
    ]


def test_every_change_is_one_line_naming_the_resource_and_what_differs() -> None:
    subnet = {"name": "local-public-a"}
    events = [
        ok("Create or update the VPC.", VPC_RESULT),
        ok("Read the VPC.", {"changed": False, "vpc": {"id": "vpc-1"}}),
        ok(
            "Create or update the subnets.",
            {
                "changed": True,
                "results": [
                    {
                        "changed": True,
                        "_ansible_item_label": "local-public-a",
                        "item": subnet,
                        "subnet": {"tags": {"Name": "local-public-a"}},
                        "invocation": {
                            "module_args": {"tags": {"Name": "local-public-a", "CostCentre": "x"}}
                        },
                    },
                    {"changed": False, "_ansible_item_label": "local-private-a", "item": {}},
                ],
            },
        ),
        ok(
            "Set the file system's lifecycle.",
            {
                "changed": True,
                "diff": {
                    "before": {"name": "homes", "lifecycle": {"to_ia": "AFTER_30_DAYS"}, "tags": {"A": "1"}},
                    "after": {"name": "homes", "lifecycle": {"to_ia": "AFTER_7_DAYS"}, "tags": {"A": "1"}},
                },
            },
            play="Build the site's home filesystem.",
        ),
        ok("Create the alarm topic.", {"changed": True, "diff": {"before": {}, "after": {"name": "alarms"}}}),
        ok("Write the hub's secrets.", {"censored": "the output has been hidden", "changed": True}),
        ok(
            "Render the values.",
            {
                "changed": True,
                "diff": [{"before": "a\nb\n", "after": "a\nc\nd\n", "after_header": "values.yaml"}],
            },
        ),
        ok(
            "Start the cluster.",
            {"changed": True},
            play="Start the site's EKS cluster, without waiting for it.",
        ),
        {"event": "runner_on_failed", "event_data": {"res": {"changed": True}}},
    ]
    stages = drift.play_stages(ROOT / "playbooks" / "site.yml")
    lines = [d.line() for d in drift.differences("local", events, stages)]
    assert lines == [
        "local  network  Create or update the VPC.  local  tags.Owner: 'someone-else' -> 'platform-team'",
        "local  network  Create or update the subnets.  local-public-a  tags.CostCentre: absent -> 'x'",
        "local  storage  Set the file system's lifecycle.  homes  "
        "lifecycle.to_ia: 'AFTER_30_DAYS' -> 'AFTER_7_DAYS'",
        "local  network  Create the alarm topic.  alarms  would create",
        "local  network  Write the hub's secrets.  -  details hidden (no_log)",
        "local  network  Render the values.  values.yaml  +2 -1 lines",
        "local  cluster  Start the cluster.  -  would change (amazon.aws.x reports no diff)",
    ]


def test_tags_not_purged_are_not_drift() -> None:
    kept = {**VPC_RESULT, "vpc": {"tags": {"Site": "local", "Owner": "platform-team", "Extra": "by hand"}}}
    kept["invocation"] = {"module_args": {**VPC_RESULT["invocation"]["module_args"], "purge_tags": False}}
    assert drift.what_differs(kept, "amazon.aws.ec2_vpc_net") == (
        "would change (amazon.aws.ec2_vpc_net reports no diff)"
    )
    assert (
        drift.what_differs({**kept, "invocation": VPC_RESULT["invocation"]})
        == "tags.Extra: 'by hand' -> absent"
    )


def test_the_first_error_not_ignored_is_the_sites_line() -> None:
    events = [
        {
            "event": "runner_on_failed",
            "event_data": {"task": "Probe.", "ignore_errors": True, "res": {"msg": "x"}},
        },
        {
            "event": "runner_on_failed",
            "event_data": {"task": "Read the lock.", "res": {"msg": "Task failed: no route\nmore detail"}},
        },
    ]
    assert drift.first_error(events, "") == "Read the lock.: Task failed: no route"
    assert drift.first_error([], "PLAY [x]\nERROR! the playbook could not be found\n") == (
        "ERROR! the playbook could not be found"
    )


def test_exit_code_and_summary_lines() -> None:
    clean = drift.SiteReport("a", "clean")
    drifted = drift.SiteReport("b", "drift", [drift.Difference("b", "network", "t", "-", "would create")])
    failed = drift.SiteReport("c", "failed", error="Read the lock.: boom", output="/x/artifacts")
    assert drift.exit_code([clean]) == 0
    assert drift.exit_code([clean, drifted]) == 1
    assert drift.exit_code([clean, drifted, failed]) == 2
    assert drift.exit_code([drift.SiteReport("d", "unreachable", error="no")]) == 2
    assert drift.exit_code([drift.SiteReport("e", "skipped", error="runbook_drift: false")]) == 0
    assert [r.summary() for r in (clean, drifted, failed)] == [
        "a: no drift",
        "b: 1 difference",
        "c: FAILED: Read the lock.: boom (output in /x/artifacts)",
    ]


def test_a_site_without_credentials_is_one_unreachable_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The example site names an AWS profile (real AWS) that this machine does not have.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    result = cli("drift", "--site", "example", "--site", "nowhere", "--json", str(tmp_path / "drift.json"))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "example: UNREACHABLE: cannot reach AWS: ProfileNotFound: "
        "The config profile (hst-prod-admin) could not be found",
        "nowhere: UNREACHABLE: unknown site 'nowhere': known sites are "
        "example, example-single-node, local, local-eks",
    ]
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["exit_code"] == 2
    assert [(s["site"], s["status"]) for s in report["sites"]] == [
        ("example", "unreachable"),
        ("nowhere", "unreachable"),
    ]


def inventory(root: Path, name: str, opt_out: str) -> None:
    group_vars = root / "inventories" / name / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    (root / "inventories" / name / "hosts.yml").write_text(
        "all:\n  children:\n    aws:\n      hosts:\n        localhost:\n          ansible_connection: local\n"
    )
    (group_vars / "site.yml").write_text(
        f"site_name: {name}\nsite_region: us-east-1\nrunbook_drift: {opt_out}\n"
    )


def test_all_leaves_out_a_site_marked_so_and_refuses_a_bad_mark(tmp_path: Path) -> None:
    inventory(tmp_path, "quiet", "false")
    inventory(tmp_path, "typo", "nope")
    lines: list[str] = []
    reports = drift.report_sites(["quiet", "typo"], everything=True, echo=lines.append, root=tmp_path)
    assert lines == [
        "quiet: skipped (runbook_drift: false)",
        "typo: FAILED: site 'typo': runbook_drift must be true or false, not 'nope'",
    ]
    assert drift.exit_code(reports) == 2


def test_bad_options_are_refused_before_any_site_runs() -> None:
    result = cli("drift", "--stage", "everything")
    assert result.exit_code == 2
    stages = "backup, cluster, host, hub, images, monitoring, network, storage"
    assert f"--stage must be one of {stages}" in result.output
    result = cli("drift", "--all", "--site", "local")
    assert result.exit_code == 2 and "--site SITE (repeatable) or --all, not both" in result.output


def network_state(emulator: Emulator) -> dict[str, Any]:
    """The site's network as the account has it: VPCs with their attributes, subnets, route tables."""
    ec2 = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpcs = [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    in_site = [{"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs]}]
    return {
        "vpcs": vpcs,
        "dns": [
            ec2.describe_vpc_attribute(VpcId=v["VpcId"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]
            for v in vpcs
        ],
        "subnets": ec2.describe_subnets(Filters=in_site)["Subnets"],
        "route_tables": ec2.describe_route_tables(Filters=in_site)["RouteTables"],
        "endpoints": ec2.describe_vpc_endpoints(Filters=in_site)["VpcEndpoints"],
    }


def runbook_drift(emulator: Emulator, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EMULATOR_STATE_DIR": str(emulator.state_dir),
        "SITE_OUTPUT_DIR": str(emulator.state_dir / "site-output"),
        "RUNBOOK_OUTPUT_DIR": str(out),
    }
    command = [str(Path(sys.executable).parent / "runbook"), "drift", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.emulator
def test_a_tag_changed_by_hand_is_named_and_nothing_changes(site_emulator: Emulator, tmp_path: Path) -> None:
    site_emulator.reset()
    converge = run_playbook(
        "network.yml",
        state_dir=site_emulator.state_dir,
        extra_vars={"site_aws_environment": site_emulator.client_env()},
    )
    assert converge.returncode == 0, converge.output[-4000:]

    clean = runbook_drift(site_emulator, tmp_path, "--site", "local", "--stage", "network")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.splitlines() == ["local: no drift"]

    ec2 = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=site_emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    [vpc] = network_state(site_emulator)["vpcs"]
    ec2.create_tags(Resources=[vpc["VpcId"]], Tags=[{"Key": "Owner", "Value": "someone-else"}])
    before = network_state(site_emulator)

    found = runbook_drift(
        site_emulator, tmp_path, "--site", "local", "--stage", "network", "--json", str(tmp_path / "d.json")
    )
    assert found.returncode == 1, found.stdout + found.stderr
    assert found.stdout.splitlines() == [
        "local  network  Create or update the VPC.  local  tags.Owner: 'someone-else' -> 'platform-team'",
        "local: 1 difference",
    ]
    [site] = json.loads((tmp_path / "d.json").read_text())["sites"]
    assert site["status"] == "drift" and site["differences"][0]["label"] == "local"
    assert network_state(site_emulator) == before


def test_new_entries_of_a_mapping_are_named_and_long_phrases_cut() -> None:
    alarm = {"AlarmName": "local-node-cpu", "Threshold": 80.0}
    alarms = {
        "changed": True,
        "diff": {
            "before": {
                "local-node-cpu": {},
                "local-billing": {"Threshold": 10.0},
                "local-old": {"Threshold": 1},
            },
            "after": {"local-node-cpu": alarm, "local-billing": {"Threshold": 20.0}},
        },
    }
    assert drift.what_differs(alarms) == (
        "local-node-cpu: would create; local-billing.Threshold: 10.0 -> 20.0; local-old: would delete"
    )
    # A template's diff names the source in a temporary directory; the label is where it goes.
    template = {
        "changed": True,
        "diff": [{"before": "", "after": "kind: Config\n", "after_header": "/tmp/x/kubeconfig.yaml.j2"}],
        "invocation": {"module_args": {"dest": "/srv/site/kubeconfig", "mode": "0600"}},
    }
    assert (drift.resource_label(template), drift.what_differs(template)) == (
        "/srv/site/kubeconfig",
        "would create",
    )
    long = drift.what_differs(
        {"changed": True, "msg": "would create, once the file system exists: " + "x" * 300}
    )
    assert len(long) == drift.WHAT_WIDTH and long.endswith("...")
