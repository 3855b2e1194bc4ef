"""How a runbook reaches the files on a site's home file system.

Restoring a home, lifting a restored file system and reading the usage figures are file operations
on the file system itself, which AWS APIs cannot do. They are written once, in runbooks/home_ops.py
(standard library only); a *way* of reaching the homes runs them where the files are. The inventory
chooses the way (``runbook_home_access``):

- ``local_path``: the file system's data is a directory on the control node; the way asks
  ``<AWS endpoint>/_emulator/efs/<fs-id>`` where it is (the local site's data plane, nothing else)
  and runs the operations in this process.
- ``ssh_host``: a host that mounts the file system (the single-node hub's host): the operations run
  there as ``python3 -`` over SSH (``runbook_home_ssh``: the inventory host, where the file system's
  root is on it, and an optional command that mounts it; docs/runbooks/README.md).
- ``kubernetes_job`` (a Job mounting the home claim) is not built yet: choosing it refuses the run.

A way is one small class with the same interface (:class:`HomeAccess`): ``check`` (the way works at
all: a precondition, before any paid or destructive step), ``where`` (the root, in words) and
``run`` (one operation of home_ops on one file system). Register a new one in ``WAYS``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

from runbooks import home_ops
from runbooks.engine import Refused, StepFailed
from runbooks.site import Site

KINDS = ("local_path", "ssh_host", "kubernetes_job")
SSH_TIMEOUT = 600


class HomeAccess:
    """A way of reaching the homes. Subclasses set ``kind`` and implement the three methods."""

    kind: ClassVar[str] = ""

    def __init__(self, site: Site) -> None:
        self.site = site

    def check(self, file_system_id: str | None = None) -> str:
        """Refused when this way cannot work now (for ``file_system_id``, or for any file system
        of the site); else one line saying what was checked."""
        raise NotImplementedError

    def where(self, file_system_id: str) -> str:
        raise NotImplementedError

    def run(self, file_system_id: str, op: str, **args: Any) -> Any:
        raise NotImplementedError


class LocalFilesystemAccess(HomeAccess):
    """The file system is a local directory (the local site); found through the endpoint's data plane."""

    kind = "local_path"

    def _endpoint(self) -> str:
        endpoint = self.site.aws_environment.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise Refused(
                f"site {self.site.name}: runbook_home_access is local_path but the site has no "
                "AWS_ENDPOINT_URL in site_aws_environment to ask where the file system's data is"
            )
        return endpoint.rstrip("/")

    def root(self, file_system_id: str) -> Path:
        url = f"{self._endpoint()}/_emulator/efs/{file_system_id}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                path = Path(json.load(response)["path"])
        except (urllib.error.URLError, KeyError, ValueError) as error:
            raise Refused(
                f"local filesystem access: cannot find the data of {file_system_id} ({error})"
            ) from error
        if not path.is_dir():
            raise Refused(
                f"local filesystem access: {path} (file system {file_system_id}) is not a directory"
            )
        return path

    def check(self, file_system_id: str | None = None) -> str:
        if file_system_id:
            return f"local filesystem access: {self.root(file_system_id)} is a directory"
        url = f"{self._endpoint()}/_emulator/efs"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                json.load(response)
        except (urllib.error.URLError, ValueError) as error:
            raise Refused(f"local filesystem access: {url} does not answer ({error})") from error
        return f"local filesystem access: {url} answers"

    def where(self, file_system_id: str) -> str:
        return str(self.root(file_system_id))

    def run(self, file_system_id: str, op: str, **args: Any) -> Any:
        try:
            return home_ops.call(self.root(file_system_id), op, args)
        except home_ops.OpError as error:
            raise StepFailed(f"{op} on {file_system_id}: {error}") from error


class SshHostAccess(HomeAccess):
    """A host that mounts the file system, over SSH with the inventory's connection settings of
    ``runbook_home_ssh.host`` (address, port, user, key, ssh arguments, as Ansible uses them)."""

    kind = "ssh_host"

    def __init__(self, site: Site) -> None:
        super().__init__(site)
        settings = site.var("runbook_home_ssh")
        if not isinstance(settings, dict) or not settings.get("host") or not settings.get("root"):
            raise Refused(
                f"site {site.name}: runbook_home_access is ssh_host but runbook_home_ssh does not name "
                "the host and where the file system's root is on it (host, root; docs/runbooks/README.md)"
            )
        self.host = str(settings["host"])
        self.root_template = str(settings["root"])
        self.mount = str(settings.get("mount") or "")
        self.python = str(settings.get("python") or "python3")
        self._mounted: set[str] = set()

    def _ssh(self) -> list[str]:
        variables = self.site.host_vars(self.host)
        if variables is None:
            raise Refused(
                f"site {self.site.name}: runbook_home_ssh.host {self.host!r} is not in its inventory"
            )
        address = str(variables.get("ansible_host") or self.host)
        # One connection for the run's many operations (each one is a command over it).
        control = Path(tempfile.gettempdir()) / f"runbook-ssh-{os.getuid()}-%C"
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ControlMaster=auto"]
        argv += ["-o", f"ControlPath={control}", "-o", "ControlPersist=30"]
        if variables.get("ansible_port"):
            argv += ["-p", str(variables["ansible_port"])]
        if variables.get("ansible_ssh_private_key_file"):
            argv += ["-i", str(Path(str(variables["ansible_ssh_private_key_file"])).expanduser())]
        argv += shlex.split(str(variables.get("ansible_ssh_common_args") or ""))
        argv += shlex.split(str(variables.get("ansible_ssh_extra_args") or ""))
        user = variables.get("ansible_user")
        return [*argv, f"{user}@{address}" if user else address]

    def _remote(self, command: str, stdin: str = "", timeout: float = SSH_TIMEOUT) -> str:
        argv = [*self._ssh(), command]
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise StepFailed(f"ssh {self.host}: no answer within {timeout:.0f} s") from error
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise StepFailed(
                f"ssh {self.host} ({command.split()[0]}) failed with exit {done.returncode}: "
                + (detail[-1] if detail else "no output")
            )
        return done.stdout

    def where(self, file_system_id: str) -> str:
        return self.root_template.format(file_system_id=file_system_id, region=self.site.region)

    def _ops(self, root: str, op: str, args: dict[str, Any], timeout: float = SSH_TIMEOUT) -> Any:
        command = shlex.join([*shlex.split(self.python), "-", op, root, json.dumps(args)])
        source = Path(home_ops.__file__).read_text()
        output = self._remote(command, stdin=source, timeout=timeout)
        try:
            answer = json.loads(output)
        except ValueError as error:
            raise StepFailed(f"ssh {self.host}: {op} printed no JSON: {output[-300:]!r}") from error
        if not answer.get("ok"):
            raise StepFailed(f"ssh {self.host}: {op} on {root}: {answer.get('error')}")
        return answer["result"]

    def _ensure_mounted(self, file_system_id: str) -> None:
        if not self.mount or file_system_id in self._mounted:
            return
        root = self.where(file_system_id)
        command = self.mount.format(file_system_id=file_system_id, region=self.site.region, root=root)
        self._remote(f"mountpoint -q {shlex.quote(root)} || {{ mkdir -p {shlex.quote(root)} && {command}; }}")
        self._mounted.add(file_system_id)

    def check(self, file_system_id: str | None = None) -> str:
        try:
            if file_system_id:
                self._ensure_mounted(file_system_id)
                root = self.where(file_system_id)
            else:
                # Before the file system exists (a restore to a new one): the directory it will be in.
                root = str(Path(self.where("FSID")).parent)
            probe = self._ops(root, "probe", {}, timeout=60)
            if self.mount and not file_system_id:
                program = shlex.split(self.mount)[0]
                self._remote(f"command -v {shlex.quote(program)} >/dev/null", timeout=60)
        except StepFailed as error:
            raise Refused(f"home access over SSH to {self.host} does not work: {error}") from error
        if not probe["writable"]:
            raise Refused(
                f"home access over SSH to {self.host}: {root} is not a directory it can write in"
                + ("" if probe["is_dir"] else " (it does not exist)")
            )
        return f"ssh {self.host}: {root} is writable (python {probe['python']})"

    def run(self, file_system_id: str, op: str, **args: Any) -> Any:
        self._ensure_mounted(file_system_id)
        return self._ops(self.where(file_system_id), op, args)


WAYS: dict[str, type[HomeAccess]] = {"local_path": LocalFilesystemAccess, "ssh_host": SshHostAccess}


def home_access(site: Site) -> HomeAccess:
    kind = site.var("runbook_home_access")
    if kind in WAYS:
        return WAYS[kind](site)
    if kind in KINDS:
        raise Refused(
            f"site {site.name}: runbook_home_access: {kind} is not implemented yet; use local_path or "
            "ssh_host (see docs/runbooks/README.md, home access)"
        )
    raise Refused(
        f"site {site.name}: runbook_home_access must be one of {', '.join(KINDS)} "
        f"(set it in the inventory); it is {kind!r}"
    )


def local_root(site: Site, file_system_id: str) -> Path:
    """The file system's root as a local directory: only the local_path way has one (drills)."""
    access = home_access(site)
    if not isinstance(access, LocalFilesystemAccess):
        raise Refused(
            f"site {site.name}: this needs the file system as a local directory (runbook_home_access "
            f"local_path); it is {access.kind}"
        )
    return access.root(file_system_id)


def home_root(site: Site) -> str:
    """Where users' homes are on the file system: runbook_home_root, else the path of the storage
    stage's access point named "homes", else /home."""
    configured = site.var("runbook_home_root")
    if isinstance(configured, str) and configured:
        return "/" + configured.strip("/")
    for point in site.var("efs_storage_access_points") or []:
        if isinstance(point, dict) and point.get("name") == "homes" and point.get("path"):
            return "/" + str(point["path"]).strip("/")
    return "/home"
