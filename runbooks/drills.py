"""Disaster-recovery drills: break a site on purpose, recover it with the procedure an operator
would run, check the result from outside, and report RTO and RPO.

- RPO: at the moment of the fault, the age of the newest completed recovery point of the home file
  system, and what changed on it since (files and bytes newer than that point: what the fault
  could lose for good).
- RTO: from the fault to the end of the verification (files back byte for byte, resources back).

Scenarios: ``user-files`` (a user's files deleted -> restore-user-home), ``filesystem`` (the home
file system deleted -> restore-filesystem), ``cluster`` (the EKS cluster deleted -> rebuild-cluster),
``hub-host`` (a single-node site's hub host lost -> rebuild-hub-host). On a single-node site with a
hub the runbooks can reach, the filesystem, cluster and hub-host drills also check that the hub
answers and that a user logs in (steps ``hub-answers`` and ``user-login``).
Reports: ``<runbook output dir>/drills/<scenario>-<timestamp>.md`` and ``.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbooks import aws, home_ops, procedures
from runbooks.engine import Refused, Run, SiteLock, StepFailed, output_dir, wait_until
from runbooks.home_access import home_root, local_root
from runbooks.hub import Hub, no_hub_reason, sha256
from runbooks.procedures.common import hub_answers, hub_login_user, user_logs_in
from runbooks.procedures.rebuild_hub_host import machine_spec, machine_state, machines
from runbooks.site import Site, reload_site

SCENARIOS = {
    "user-files": "delete one user's files, restore them with restore-user-home",
    "filesystem": "delete the home file system, restore it with restore-filesystem",
    "cluster": "delete the EKS cluster, rebuild it with rebuild-cluster",
    "hub-host": "lose a single-node site's hub host, re-create it with rebuild-hub-host",
}
HUB_HOST_FILE = "drill/hub-host.bin"
SIDE_PREFIX = "aws-backup-restore_"
# The home_usage role's state in the home root (docs/quotas.md): figures rewritten on every scheduled
# measurement, not user data; a drill neither counts them at risk nor expects them back unchanged.
USAGE_STATE_DIR = ".sciplat-usage"
# Files hashed at most (besides the drill user's) when a file system has more: runbook_drill_sample_files.
DEFAULT_SAMPLE = 2000


def tree(
    root: Path, sample: int = 0, always: list[str] | None = None, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every regular file under root (restore side directories and the usage measurement's state
    left out): mode, mtime, size, and the digest of every file or, with ``sample``, of a random
    sample of that many plus every file under the ``always`` prefixes (home_ops.tree)."""
    return home_ops.tree(root, "", sample, always, seed)["files"]


def sample_size(site: Site) -> int:
    """How many files a drill hashes at most besides the drill user's (runbook_drill_sample_files)."""
    value = site.var("runbook_drill_sample_files", DEFAULT_SAMPLE)
    return (
        int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_SAMPLE
    )


def what_the_sample_proves(total: int, hashed: int, sample: int) -> str:
    """The fingerprint's reach, in words for the report."""
    if hashed >= total:
        return (
            f"every file ({total}) was hashed (SHA-256) before the fault and compared after it: "
            "the check proves each one came back byte for byte with its mode"
        )
    bound = min(100.0, 300.0 / sample)
    return (
        f"{hashed} of {total} files hashed (SHA-256): a random sample of {sample} plus every file of the "
        f"drill user; every file's presence, size and mode compared. If the sample matches, at 95% "
        f"confidence fewer than {bound:.2g}% of the files differ in content (the rule of three: "
        f"3/{sample}); it cannot prove that no file at all differs, nor find a corruption confined to a "
        "few files outside the sample"
    )


class Drill:
    def __init__(
        self, site: Site, scenario: str, echo: Callable[[str], None], user: str = "drill-user"
    ) -> None:
        self.site = site
        self.scenario = scenario
        self.user = user
        self.site_lock: SiteLock | None = None
        self.fingerprinted: dict[str, dict[str, Any]] = {}
        self.echo = echo
        self.steps: list[dict[str, Any]] = []
        self.report: dict[str, Any] = {
            "scenario": scenario,
            "what": SCENARIOS[scenario],
            "site": site.name,
            "region": site.region,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "steps": self.steps,
            "notes": [],
        }
        self.timeout = float(site.var("runbook_wait_timeout", 1800))

    def step(self, name: str, action: Callable[[], str | None]) -> None:
        self.echo(f"drill {self.scenario}: {name}")
        start = time.monotonic()
        try:
            note = action() or ""
        except Exception as error:
            self.steps.append(
                {
                    "step": name,
                    "result": "failed",
                    "duration_s": round(time.monotonic() - start, 3),
                    "note": str(error),
                }
            )
            raise
        self.steps.append(
            {"step": name, "result": "done", "duration_s": round(time.monotonic() - start, 3), "note": note}
        )
        if note:
            self.echo(f"      {note}")

    def note(self, text: str) -> None:
        self.report["notes"].append(text)

    # -- shared pieces ---------------------------------------------------------------------------

    def home_fs(self) -> dict[str, Any]:
        fs = aws.find_home_fs(self.site)
        if fs is None:
            raise Refused(f"site {self.site.name} has no home file system: converge it first (make demo)")
        return fs

    def seed_user(self, root: Path, user: str) -> str:
        home = root / home_root(self.site).strip("/") / user
        if home.is_dir() and any(p.is_file() for p in home.rglob("*")):
            return f"{user}'s home has {sum(1 for p in home.rglob('*') if p.is_file())} files"
        (home / "data").mkdir(parents=True, exist_ok=True)
        (home / "notes.md").write_text("# observing log\nM31, 300 s, F606W\n")
        (home / "data" / "frame.fits").write_bytes(os.urandom(256 * 1024))
        script = home / "analysis.py"
        script.write_text("print('photometry')\n")
        script.chmod(0o750)
        self.note(f"{user}'s home was empty: the drill wrote 3 sample files into it first")
        self.seeded = True
        return f"seeded {home} with 3 files"

    def ensure_backup(self, fs: dict[str, Any]) -> str:
        points = [
            p for p in aws.recovery_points(self.site, fs["FileSystemArn"]) if p.get("Status") == "COMPLETED"
        ]
        if points and not getattr(self, "seeded", False):
            return f"newest recovery point {points[0]['RecoveryPointArn'].split(':')[-1]}"
        job = aws.start_backup(self.site, fs, self.timeout)
        why = "the drill wrote data after it" if points else "there was none"
        self.note(f"the drill took an on-demand backup first ({why})")
        return f"on-demand backup job {job['BackupJobId']} completed"

    def fingerprint(self, root: Path) -> dict[str, dict[str, Any]]:
        """The file system's files, hashed all or by a sample (runbook_drill_sample_files); what the
        sample can prove goes into the report."""
        sample = sample_size(self.site)
        always = [f"{home_root(self.site).strip('/')}/{self.user}"]
        seed = int(time.time())
        found = home_ops.tree(root, "", sample, always, seed)
        self.report["fingerprint"] = {
            "files": found["total"],
            "hashed": found["hashed"],
            "sample": sample if found["hashed"] < found["total"] else None,
            "seed": seed,
            "proves": what_the_sample_proves(found["total"], found["hashed"], sample),
        }
        self.fingerprinted = found["files"]
        return found["files"]

    def record_rpo(self, fs: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
        """RPO at this instant; returns the files a restore can bring back (unchanged since the point)."""
        point = aws.choose_recovery_point(self.site, None, fs["FileSystemArn"])
        created = point.get("CompletionDate") or point["CreationDate"]
        cutoff = created.timestamp()
        files = self.fingerprint(root)
        changed = {k: v for k, v in files.items() if v["mtime"] > cutoff}
        self.report["rpo"] = {
            "recovery_point": point["RecoveryPointArn"],
            "recovery_point_completed": created.isoformat(),
            "age_s": round(aws.age_seconds(created), 1),
            "changed_files_since": len(changed),
            "changed_bytes_since": sum(v["size"] for v in changed.values()),
            "files_on_filesystem": len(files),
        }
        rpo = self.report["rpo"]
        self.echo(
            f"      RPO: newest recovery point {rpo['age_s']} s old; "
            f"{rpo['changed_files_since']} files ({rpo['changed_bytes_since']} bytes) changed since"
        )
        return {k: v for k, v in files.items() if k not in changed}

    def recover(self, name: str, params: dict[str, Any]) -> str:
        module = procedures.get(name)
        run = Run(
            self.site,
            name,
            module.steps,
            procedures.parse_args(module, [f"--{k}={v}" for k, v in params.items()]),
            apply=True,
            yes=True,
            interactive=False,
            echo=lambda line: self.echo(f"      | {line}"),
            site_lock=self.site_lock,
        )
        self.report["recovery_run_id"] = run.run_id
        self.report["recovery_steps"] = run.execute()
        return f"{name} run {run.run_id} done"

    def compare(self, expected: dict[str, dict[str, Any]], root: Path, prefix: str = "") -> str:
        """Every expected file present with its size and mode; the hashed ones byte for byte."""
        hashed = [prefix + rel for rel, want in expected.items() if "sha256" in want]
        now = home_ops.tree(root, "", hash_only=hashed)["files"]
        wrong = []
        for rel, want in expected.items():
            have = now.get(prefix + rel)
            if have is None:
                wrong.append(f"{rel} missing")
            elif have["size"] != want["size"] or have.get("sha256") != want.get("sha256"):
                wrong.append(f"{rel} differs")
            elif have["mode"] != want["mode"]:
                wrong.append(f"{rel} mode {oct(have['mode'])} != {oct(want['mode'])}")
        if wrong:
            raise StepFailed(f"{len(wrong)} of {len(expected)} files not back: {', '.join(wrong[:5])}")
        self.report["verified_files"] = len(expected)
        checked = sum(1 for want in expected.values() if "sha256" in want)
        if checked == len(expected):
            return f"{len(expected)} files back byte for byte, modes kept"
        return (
            f"{len(expected)} files back with their sizes and modes; {checked} of them (the sample) "
            "byte for byte"
        )

    def single_node_hub(self) -> bool:
        return self.site.var("jupyterhub_backend") == "single_node"

    def verify_hub(self) -> None:
        """On a single-node site: the hub answers and a user logs in, as two steps of their own (each
        with its deadline: runbook_hub_wait_timeout, runbook_hub_spawn_timeout). A site whose hub the
        runbooks cannot reach gets a note saying why, not a silent pass."""
        if not self.single_node_hub():
            return
        self.site = reload_site(self.site)  # a re-converge may have written a new token
        reason = no_hub_reason(self.site)
        if reason:
            self.note(f"hub not checked: {reason}")
            return
        self.step("hub-answers", lambda: hub_answers(self.site))
        if hub_login_user(self.site) is None:
            self.note("user login not checked: runbook_hub_login_user (and a password) are not set")
            return
        self.step("user-login", lambda: user_logs_in(self.site))
        self.report["hub_verified"] = True

    # -- scenarios --------------------------------------------------------------------------------

    def user_files(self, user: str) -> None:
        fs = self.home_fs()
        root = local_root(self.site, fs["FileSystemId"])
        home_rel = f"{home_root(self.site).strip('/')}/{user}"
        self.report["user"] = user
        self.step("prepare", lambda: self.seed_user(root, user))
        self.step("ensure-backup", lambda: self.ensure_backup(fs))
        expected: dict[str, dict[str, Any]] = {}

        def rpo() -> str:
            every = self.record_rpo(fs, root)
            expected.update(
                {k.removeprefix(home_rel + "/"): v for k, v in every.items() if k.startswith(home_rel + "/")}
            )
            return f"{len(expected)} of {user}'s files are in the recovery point"

        self.step("record-rpo", rpo)
        home = root / home_rel

        def fault() -> str:
            for entry in list(home.iterdir()):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            return f"deleted everything in {home}"

        self.fault_at = time.monotonic()
        self.step("inject-fault", fault)
        self.step("recover", lambda: self.recover("restore-user-home", {"user": user}))
        self.step("verify", lambda: self.compare(expected, home))

    def filesystem(self, user: str) -> None:
        fs = self.home_fs()
        root = local_root(self.site, fs["FileSystemId"])
        self.report["old_file_system_id"] = fs["FileSystemId"]
        self.step("prepare", lambda: self.seed_user(root, user))
        self.step("ensure-backup", lambda: self.ensure_backup(fs))
        expected: dict[str, dict[str, Any]] = {}

        def rpo() -> str:
            expected.update(self.record_rpo(fs, root))
            return f"{len(expected)} files are in the recovery point"

        self.step("record-rpo", rpo)
        efs = aws.client(self.site, "efs")

        def fault() -> str:
            fs_id = fs["FileSystemId"]
            for target in efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]:
                efs.delete_mount_target(MountTargetId=target["MountTargetId"])
            wait_until(
                "mount targets to go",
                lambda: True if not efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"] else None,
                timeout=self.timeout,
            )
            for point in efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]:
                efs.delete_access_point(AccessPointId=point["AccessPointId"])
            efs.delete_file_system(FileSystemId=fs_id)
            wait_until(
                "the file system to go",
                lambda: True if aws.find_home_fs(self.site) is None else None,
                timeout=self.timeout,
            )
            return f"deleted {fs_id}, its mount targets and access points"

        self.fault_at = time.monotonic()
        self.step("inject-fault", fault)
        self.step("recover", lambda: self.recover("restore-filesystem", {}))

        def verify() -> str:
            new = aws.find_home_fs(self.site)
            if new is None or new["FileSystemId"] == fs["FileSystemId"]:
                raise StepFailed("the site has no new home file system")
            targets = efs.describe_mount_targets(FileSystemId=new["FileSystemId"])["MountTargets"]
            if not targets or any(t["LifeCycleState"] != "available" for t in targets):
                raise StepFailed(f"mount targets of {new['FileSystemId']} not available")
            self.report["new_file_system_id"] = new["FileSystemId"]
            files = self.compare(expected, local_root(self.site, new["FileSystemId"]))
            return f"{new['FileSystemId']} with {len(targets)} mount targets; {files}"

        self.step("verify", verify)
        self.verify_hub()

    def cluster(self, user: str) -> None:
        fs = self.home_fs()
        root = local_root(self.site, fs["FileSystemId"])
        eks = aws.client(self.site, "eks")
        name = aws.cluster_name(self.site)
        if aws.describe_cluster(self.site) is None:
            raise Refused(f"cluster {name} does not exist: converge the site first (make demo)")
        self.step("ensure-backup", lambda: self.ensure_backup(fs))
        before: dict[str, Any] = {}

        def rpo() -> str:
            self.record_rpo(fs, root)
            before["files"] = self.fingerprinted
            before["groups"] = sorted(eks.list_nodegroups(clusterName=name)["nodegroups"])
            before["addons"] = sorted(eks.list_addons(clusterName=name)["addons"])
            self.note("the home file system is not part of this fault: its data is not at risk")
            return f"node groups {before['groups']}, add-ons {before['addons']}"

        self.step("record-rpo", rpo)

        def fault() -> str:
            for group in before["groups"]:
                eks.delete_nodegroup(clusterName=name, nodegroupName=group)
            wait_until(
                "node groups to go",
                lambda: True if not eks.list_nodegroups(clusterName=name)["nodegroups"] else None,
                timeout=self.timeout,
            )
            for addon in before["addons"]:
                eks.delete_addon(clusterName=name, addonName=addon)
            wait_until(
                "add-ons to go",
                lambda: True if not eks.list_addons(clusterName=name)["addons"] else None,
                timeout=self.timeout,
            )
            eks.delete_cluster(name=name)
            wait_until(
                "the cluster to go",
                lambda: True if aws.describe_cluster(self.site) is None else None,
                timeout=self.timeout,
            )
            groups, addons = len(before["groups"]), len(before["addons"])
            return f"deleted cluster {name}, {groups} node groups, {addons} add-ons"

        self.fault_at = time.monotonic()
        self.step("inject-fault", fault)
        self.step("recover", lambda: self.recover("rebuild-cluster", {}))

        def verify() -> str:
            cluster = aws.describe_cluster(self.site)
            if cluster is None or cluster["status"] != "ACTIVE":
                raise StepFailed(f"cluster {name} is not ACTIVE")
            groups = sorted(eks.list_nodegroups(clusterName=name)["nodegroups"])
            addons = sorted(eks.list_addons(clusterName=name)["addons"])
            if groups != before["groups"] or not set(before["addons"]) <= set(addons):
                raise StepFailed(f"node groups {groups} / add-ons {addons} differ from before")
            again = aws.find_home_fs(self.site)
            if again is None or again["FileSystemId"] != fs["FileSystemId"]:
                raise StepFailed("the home file system changed")
            self.compare(before["files"], root)
            home = fs["FileSystemId"]
            return f"cluster ACTIVE, node groups {groups}, {len(addons)} add-ons, home {home} unchanged"

        self.step("verify", verify)
        self.verify_hub()

    def hub_host(self, user: str) -> None:
        hub_user = hub_host_precheck(self.site)
        spec = machine_spec(self.site)
        fs = self.home_fs()
        root = local_root(self.site, fs["FileSystemId"])
        wait = float(self.site.var("runbook_hub_spawn_timeout", 180))
        self.report["user"] = hub_user
        payload = os.urandom(64 * 1024)
        before: dict[str, Any] = {}

        def prepare() -> str:
            hub = Hub(self.site)
            hub.answers()
            hub.start_server(hub_user, wait)
            hub.put_file(hub_user, HUB_HOST_FILE, payload)
            hub.stop_server(hub_user, wait)
            self.seeded = True
            return (
                f"wrote {HUB_HOST_FILE} ({len(payload)} bytes, sha256 {sha256(payload)[:16]}...) into "
                f"{hub_user}'s home through their server"
            )

        self.step("prepare", prepare)
        self.step("ensure-backup", lambda: self.ensure_backup(fs))

        def rpo() -> str:
            # Hidden files (servers' runtime files, caches) change whenever a server starts: left out.
            self.record_rpo(fs, root)
            before["files"] = {
                k: v
                for k, v in self.fingerprinted.items()
                if not any(p.startswith(".") for p in k.split("/"))
            }
            before["machine"] = json.loads(machines(spec, "status", str(spec["name"])))
            db = Path(str(self.site.var("runbook_hub_db_backup_dir") or "/nonexistent")).expanduser()
            copies = sorted(db.glob("*.sqlite")) if db.is_dir() else []
            self.report["hub_database"] = {
                "where": f"{self.site.var('runbook_hub_state_dir', '/var/lib/jupyterhub')}/jupyterhub.sqlite "
                "on the hub host",
                "backup": str(copies[-1]) if copies else None,
                "lost": True,
            }
            self.note(
                "the hub's database (SQLite on the hub host: users, API tokens, server records, "
                "activity) is lost with the host and no backup of it exists on this site: the rebuilt "
                "hub starts with an empty database and adds the allowed and admin users again; users "
                "log in again and their own API tokens must be issued again"
                if not copies
                else f"a copy of the hub's database exists ({copies[-1]}), but it is not restored onto "
                "the rebuilt host (restore-hub-database works on a file on the control node)"
            )
            self.note("the home file system is not part of this fault: its data is not at risk")
            ports = before["machine"].get("ports", {})
            return f"machine {spec['name']} {before['machine']['state']}, ports {ports}"

        self.step("record-rpo", rpo)

        def fault() -> str:
            machines(spec, "destroy", str(spec["name"]))
            if machine_state(spec) != "absent":
                raise StepFailed(f"machine {spec['name']} still exists after destroy")
            try:
                Hub(self.site, timeout=5).answers()
            except StepFailed:
                return f"machine {spec['name']} stopped and deleted with its disk; the hub is gone"
            raise StepFailed("the hub still answers after its host was deleted")

        self.fault_at = time.monotonic()
        self.step("inject-fault", fault)
        self.step("recover", lambda: self.recover("rebuild-hub-host", {}))

        def answers() -> str:
            self.site = reload_site(self.site)  # the new host's port, the new token
            return hub_answers(self.site)

        def verify() -> str:
            again = aws.find_home_fs(self.site)
            if again is None or again["FileSystemId"] != fs["FileSystemId"]:
                raise StepFailed("the home file system changed")
            files = self.compare(before["files"], root)
            hub = Hub(self.site)
            hub.start_server(hub_user, wait)
            try:
                data = hub.get_file(hub_user, HUB_HOST_FILE)
            finally:
                hub.stop_server(hub_user, wait)
            if data != payload:
                raise StepFailed(f"{HUB_HOST_FILE} read through {hub_user}'s server differs")
            return (
                f"home {fs['FileSystemId']} unchanged ({files}); {HUB_HOST_FILE} read back through "
                f"{hub_user}'s server on the new host, byte for byte"
            )

        self.step("hub-answers", answers)
        self.step("user-login", lambda: user_logs_in(self.site))
        self.step("verify", verify)
        self.report["hub_verified"] = True


# -- the plan, the confirmation, the targets ---------------------------------------------------------


def _gb(fs: dict[str, Any] | None) -> float:
    return float((fs or {}).get("SizeInBytes", {}).get("Value", 0)) / 1e9


def plan(site: Site, scenario: str, user: str) -> dict[str, Any]:
    """What the drill will break and restore, and what it is expected to cost (list prices of
    data/prices/, the file system's size as AWS reports it now)."""
    from runbooks import cost

    try:
        fs = aws.find_home_fs(site)
    except Refused:
        raise
    except Exception as error:  # no credentials, no endpoint: the plan says so; the drill cannot run
        raise Refused(f"site {site.name}: cannot read its home file system from AWS ({error})") from error
    if fs is None:
        raise Refused(f"site {site.name} has no home file system: converge it first (make demo)")
    fs_id = fs["FileSystemId"]
    gb = _gb(fs)
    home = f"{home_root(site).strip('/')}/{user}"
    try:
        prices = cost.load_prices(site.region)
        price: Callable[[str], float] = prices.price
    except cost.PriceError:
        prices, price = None, lambda _: 0.0
    items: list[tuple[str, float]] = []

    def restore(**kind: bool) -> list[tuple[str, float]]:
        """The restore's items (the newest recovery point is in warm storage: the drill backs up first
        when it is older than the drill's data)."""
        if prices is None:
            return [(f"restore of {gb:.3g} GB (no price table)", 0.0)]
        return cost.restore_items(prices, gb, **kind)

    if scenario == "user-files":
        breaks = (
            f"deletes every file in /{home} on {fs_id} (the user {user} loses their files until the restore)"
        )
        restores = f"restore-user-home --user {user}: an AWS Backup item-level restore of /{home}"
        # At most the whole file system's size: the home's share is not known before the restore.
        items += restore(item_level=True, at_most=True)
    elif scenario == "filesystem":
        breaks = (
            f"DELETES the home file system {fs_id} with its mount targets and access points: every user's "
            "files are gone until the restore ends, and users cannot work"
        )
        restores = (
            "restore-filesystem: a new file system from the newest recovery point, "
            "storage and hub re-converged"
        )
        items += [(f"{what}, into a new file system", usd) for what, usd in restore()]
    elif scenario == "cluster":
        groups = aws.node_groups(site)
        breaks = (
            f"DELETES the EKS cluster {site.var('eks_cluster_name')} with its {len(groups)} node groups and "
            "add-ons: every running user server stops"
        )
        restores = "rebuild-cluster: the cluster stage again, the home file system re-attached"
        items.append(("EKS control plane, about 1 h of overlap", price("eks_control_plane_hour")))
        for group in groups:
            count = float(group.get("desired_size", 0))
            kind = group.get("instance_types", ["?"])[0]
            hourly = prices.on_demand(kind) if prices and kind != "?" else 0.0
            items.append((f"nodes {group.get('name')}: {count:g} x {kind} for about 1 h", count * hourly))
    else:
        breaks = (
            "DESTROYS the hub's host with its disk (the hub's database with it); "
            "the hub is down until rebuilt"
        )
        restores = "rebuild-hub-host: the host again, the hub converged on it, the homes re-attached"
        items.append(("a new hub host for about 1 h (its instance price is not in the inventory)", 0.0))
    items.append(
        (
            "an on-demand backup if the newest is older than the drill's data (incremental: cents)",
            0.0,
        )
    )
    return {
        "scenario": scenario,
        "site": site.name,
        "breaks": breaks,
        "restores": restores,
        "cost_items": [{"what": what, "usd": round(usd, 2)} for what, usd in items],
        "cost_usd": round(sum(usd for _, usd in items), 2),
        "prices": str(prices.path.relative_to(cost.PROJECT_ROOT)) if prices else None,
    }


def render_plan(drill_plan: dict[str, Any]) -> list[str]:
    lines = [
        f"Drill {drill_plan['scenario']} on site {drill_plan['site']}: the plan",
        f"  breaks:   {drill_plan['breaks']}",
        f"  restores: {drill_plan['restores']}",
        f"  expected cost: about {drill_plan['cost_usd']:.2f} USD"
        + (f" (list prices, {drill_plan['prices']})" if drill_plan["prices"] else " (no price table)"),
    ]
    lines += [f"    {item['usd']:>8.2f}  {item['what']}" for item in drill_plan["cost_items"]]
    return lines


def is_production(site: Site) -> bool:
    value = site.var("runbook_production", False)
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def check_allowed(site: Site, production_site: str | None) -> None:
    """A site marked production (runbook_production) is drilled only when the flag names it again."""
    if is_production(site) and production_site not in (site.name, site.inventory.name):
        raise Refused(
            f"site {site.name} is marked production (runbook_production: true): a drill breaks it for real. "
            "To drill it anyway, in a maintenance window with users warned, add "
            f"--production-site {site.name}"
            + (f" (--production-site names {production_site!r}, not this site)" if production_site else "")
        )


def target_seconds(site: Site, variable: str, scenario: str) -> float | None:
    """A target in minutes (runbook_rto_target_minutes / runbook_rpo_target_minutes): one number for
    every scenario, or a mapping of scenario (and ``default``) to minutes."""
    value = site.var(variable)
    if isinstance(value, dict):
        value = value.get(scenario, value.get("default"))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value) * 60
    return None


def judge(site: Site, report: dict[str, Any]) -> dict[str, Any]:
    """Met or missed, for RTO and RPO, against the site's targets."""
    scenario = report["scenario"]
    measured = {"rto": report.get("rto_s"), "rpo": (report.get("rpo") or {}).get("age_s")}
    out: dict[str, Any] = {}
    for kind, variable in (("rto", "runbook_rto_target_minutes"), ("rpo", "runbook_rpo_target_minutes")):
        target = target_seconds(site, variable, scenario)
        value = measured[kind]
        if target is None:
            verdict = "no target"
        elif value is None:
            verdict = "missed" if kind == "rto" else "not measured"
        else:
            verdict = "met" if value <= target else "missed"
        out[kind] = {"target_s": target, "measured_s": value, "verdict": verdict, "variable": variable}
    return out


def human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def hub_host_precheck(site: Site) -> str:
    """What the hub-host drill needs before it breaks anything; the user it logs in as."""
    if site.var("jupyterhub_backend") != "single_node":
        raise Refused(
            f"site {site.name}: the hub-host drill is for single-node hubs "
            f"(jupyterhub_backend is {site.var('jupyterhub_backend')!r}); use the cluster drill"
        )
    machine_spec(site)
    reason = no_hub_reason(site)
    if reason:
        raise Refused(f"{reason}: converge the site with its hub first (make demo)")
    credentials = hub_login_user(site)
    if credentials is None:
        raise Refused(f"site {site.name}: runbook_hub_login_user (and a password) are not set")
    return credentials[0]


def run_drill(
    site: Site,
    scenario: str,
    *,
    user: str | None = None,
    echo: Callable[[str], None] = print,
    yes: bool = False,
    production_site: str | None = None,
    interactive: bool | None = None,
    confirm: Callable[[str], bool] | None = None,
    site_lock: SiteLock | None = None,
) -> dict[str, Any]:
    """The drill: refused on a production site unless ``production_site`` names it; its plan printed,
    then confirmed (``yes``, else a terminal's answer); run; reported with met/missed targets."""
    import sys

    from runbooks.engine import _ask

    if scenario not in SCENARIOS:
        raise Refused(f"unknown drill scenario {scenario!r}: known scenarios are {', '.join(SCENARIOS)}")
    check_allowed(site, production_site)
    if scenario == "hub-host":
        hub_host_precheck(site)
    if not site.var("site_emulated"):
        raise Refused(
            f"site {site.name}: the {scenario} drill measures the file system as a directory on this "
            "machine, which only an emulated site (site_emulated: true) has (a gap: docs/drills.md)"
        )
    user = user or str(site.var("runbook_drill_user") or "drill-user")
    drill_plan = plan(site, scenario, user)
    for line in render_plan(drill_plan):
        echo(line)
    if not yes:
        if not (sys.stdin.isatty() if interactive is None else interactive):
            raise Refused(
                "a drill breaks the site and there is no terminal to confirm it: re-run with --yes "
                "after reading the plan (nothing was changed)"
            )
        if not (confirm or _ask)(f"Break site {site.name} as planned?"):
            raise Refused("not confirmed: nothing was changed")
    drill = Drill(site, scenario, echo, user)
    drill.site_lock = site_lock
    drill.report["plan"] = drill_plan
    drill.fault_at = None  # type: ignore[attr-defined]
    if site.var("runbook_drill_note"):
        drill.note(str(site.var("runbook_drill_note")))
    started = time.monotonic()
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-drill-{scenario}"
    lock = site_lock(site, f"drill {scenario}", run_id) if site_lock else nullcontext()
    try:
        with lock:
            {
                "user-files": drill.user_files,
                "filesystem": drill.filesystem,
                "cluster": drill.cluster,
                "hub-host": drill.hub_host,
            }[scenario](user)
        drill.report["result"] = "recovered"
    except (Refused, StepFailed) as error:
        if not drill.steps:
            raise
        drill.report["result"] = "failed"
        drill.report["error"] = str(error)
    except Exception as error:
        if not drill.steps:
            raise
        drill.report["result"] = "failed"
        drill.report["error"] = f"{type(error).__name__}: {error}"
    end = time.monotonic()
    drill.report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    drill.report["total_s"] = round(end - started, 1)
    fault_at = getattr(drill, "fault_at", None)
    drill.report["rto_s"] = (
        round(end - fault_at, 1) if fault_at and drill.report["result"] == "recovered" else None
    )
    drill.report["targets"] = judge(site, drill.report)
    drill.report["paths"] = write_report(site, drill.report)
    rpo = drill.report.get("rpo", {})
    targets = drill.report["targets"]
    echo(
        f"drill {scenario}: {drill.report['result'].upper()}; RTO {drill.report['rto_s']} s "
        f"({targets['rto']['verdict']}); RPO {rpo.get('age_s')} s ({targets['rpo']['verdict']}; "
        f"{rpo.get('changed_files_since')} files changed since the recovery point)"
    )
    return drill.report


def write_report(site: Site, report: dict[str, Any]) -> dict[str, str]:
    directory = output_dir(site) / "drills"
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{report['scenario']}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    paths = {"markdown": str(directory / f"{stem}.md"), "json": str(directory / f"{stem}.json")}
    report["paths"] = paths
    Path(paths["json"]).write_text(json.dumps(report, indent=2, default=str) + "\n")
    Path(paths["markdown"]).write_text(markdown(report))
    return paths


def markdown(report: dict[str, Any]) -> str:
    rpo = report.get("rpo", {})
    lines = [
        f"# Drill `{report['scenario']}` on site `{report['site']}`: {report['result']}",
        "",
        f"{report['what']}. Started {report['started']}, finished {report['finished']}.",
        "",
        *summary(report),
        "## Measures",
        "",
        "| measure | value |",
        "|---|---|",
        f"| RTO (fault to verified recovery) | {report['rto_s']} s |",
        f"| RPO: age of the newest recovery point at the fault | {rpo.get('age_s')} s |",
        f"| RPO: files / bytes changed since that point (at risk) | "
        f"{rpo.get('changed_files_since')} / {rpo.get('changed_bytes_since')} |",
        f"| recovery point | `{rpo.get('recovery_point', '-')}` |",
        f"| files verified (present, size, mode; content: below) | {report.get('verified_files', '-')} |",
        f"| drill total | {report['total_s']} s |",
    ]
    if "hub_verified" in report:
        lines.append("| hub answers, a user logs in | checked (steps hub-answers, user-login) |")
    database = report.get("hub_database")
    if database:
        fate = "lost with the host" if database.get("lost") else "kept"
        backup = f"copy at `{database['backup']}`" if database.get("backup") else "no copy existed"
        lines.append(f"| hub database ({database['where']}) | {fate}; {backup} |")
    plan_ = report.get("plan")
    if plan_:
        lines += ["", "## The plan (printed and confirmed before the fault)", ""]
        lines += [f"- breaks: {plan_['breaks']}", f"- restores: {plan_['restores']}"]
        lines += [f"- expected cost: {item['usd']:.2f} USD, {item['what']}" for item in plan_["cost_items"]]
    fingerprint = report.get("fingerprint")
    if fingerprint:
        proves = fingerprint["proves"]
        lines += ["", "## What the file check proves", "", proves[:1].upper() + proves[1:] + "."]
    lines += [
        "",
        "## Drill steps",
        "",
        "| step | result | seconds | note |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {s['step']} | {s['result']} | {s['duration_s']} | {s['note']} |" for s in report["steps"]]
    if report.get("recovery_steps"):
        lines += [
            "",
            f"## Recovery procedure steps (run `{report.get('recovery_run_id')}`)",
            "",
            "| step | result | seconds | note |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| {s['step']} | {s['result']} | {s.get('duration_s', '')} | {_first_line(s.get('note'))} |"
            for s in report["recovery_steps"]
        ]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    if report.get("error"):
        lines += ["", "## Error", "", "```", report["error"], "```"]
    return "\n".join(lines) + "\n"


def summary(report: dict[str, Any]) -> list[str]:
    """The first lines of the report: for someone who reads nothing else."""
    targets = report.get("targets") or {}
    rto, rpo = targets.get("rto", {}), targets.get("rpo", {})
    changed = (report.get("rpo") or {}).get("changed_files_since")
    outcome = (
        "The platform was broken on purpose and brought back by the documented procedure."
        if report["result"] == "recovered"
        else "The platform was broken on purpose and the procedure did NOT bring it back (see Error)."
    )
    plan_ = report.get("plan") or {}
    lines = [
        "## Summary",
        "",
        outcome,
        "",
        "| | target | this drill | verdict |",
        "|---|---:|---:|---|",
        f"| Time to recover (RTO): users could not work for | {human(rto.get('target_s'))} | "
        f"{human(rto.get('measured_s'))} | **{rto.get('verdict', 'no target').upper()}** |",
        f"| Data that could be lost (RPO): age of the newest backup | {human(rpo.get('target_s'))} | "
        f"{human(rpo.get('measured_s'))} | **{rpo.get('verdict', 'no target').upper()}** |",
        "",
    ]
    if changed is not None:
        lines += [f"Files changed since that backup (what a real fault would lose): {changed}.", ""]
    if plan_:
        lines += [f"Expected cost of the drill: about {plan_.get('cost_usd', 0):.2f} USD.", ""]
    if any(t.get("verdict") == "no target" for t in (rto, rpo)):
        lines += [
            "A target is missing: set runbook_rto_target_minutes and runbook_rpo_target_minutes in "
            "the site's inventory.",
            "",
        ]
    return lines


def _first_line(text: object) -> str:
    return str(text).splitlines()[0] if text else ""
