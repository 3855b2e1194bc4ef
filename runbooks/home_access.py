"""How a runbook reaches the files on a site's home file system.

Restoring a home, lifting a restored file system and reading the usage figures are file operations
on the file system itself, which AWS APIs cannot do. They are written once, in runbooks/home_ops.py
(standard library only); a *way* of reaching the homes runs them where the files are. The inventory
chooses the way (``runbook_home_access``):

- ``local_path``: the file system is a directory on the control node (a file system mounted on the
  operator's host, or the local site's emulated EFS data): ``runbook_home_local.root`` says where, and
  the operations run in this process.
- ``ssh_host``: a host that mounts the file system (the single-node hub's host): the operations run
  there as ``python3 -`` over SSH (``runbook_home_ssh``: the inventory host, where the file system's
  root is on it, and an optional command that mounts it; docs/runbooks/README.md).
- ``kubernetes_job``: an EKS site. Each operation is a Kubernetes Job in the hub's namespace whose
  pod mounts the file system's root (a PersistentVolume made like the home claim's, with the file
  system's ID as its volume handle) and runs ``python3 home_ops.py OP ROOT JSON`` from a ConfigMap;
  the answer is the pod's log (``runbook_home_job``: image, namespace, resources, access point).

A way is one small class with the same interface (:class:`HomeAccess`): ``check`` (the way works at
all: a precondition, before any paid or destructive step), ``where`` (the root, in words) and
``run`` (one operation of home_ops on one file system). Register a new one in ``WAYS``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from runbooks import home_ops, kube
from runbooks.engine import Refused, StepFailed
from runbooks.site import Site

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

    def prune(self) -> list[str]:
        """Remove what this way keeps for file systems that no longer exist; what it removed."""
        return []


class LocalFilesystemAccess(HomeAccess):
    """The file system is a directory on this machine, where ``runbook_home_local.root`` says."""

    kind = "local_path"

    def __init__(self, site: Site) -> None:
        super().__init__(site)
        settings = site.var("runbook_home_local")
        template = settings.get("root") if isinstance(settings, dict) else None
        if not isinstance(template, str) or "{file_system_id}" not in template:
            raise Refused(
                f"site {site.name}: runbook_home_access is local_path but runbook_home_local.root does not "
                "say where a file system's root is on this machine (a path with {file_system_id}, such as "
                "/mnt/efs/{file_system_id}; docs/runbooks/README.md)"
            )
        self.root_template = template

    def root(self, file_system_id: str) -> Path:
        path = Path(self.root_template.format(file_system_id=file_system_id))
        if not path.is_dir():
            raise Refused(
                f"local filesystem access: {path} (file system {file_system_id}) is not a directory "
                "(runbook_home_local.root)"
            )
        return path

    def check(self, file_system_id: str | None = None) -> str:
        if file_system_id:
            return f"local filesystem access: {self.root(file_system_id)} is a directory"
        parent = Path(self.root_template.split("{file_system_id}")[0])
        if not parent.is_dir():
            raise Refused(
                f"local filesystem access: {parent}, where runbook_home_local.root puts file systems, "
                "is not a directory"
            )
        return f"local filesystem access: {parent} is a directory"

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


class KubernetesJobAccess(HomeAccess):
    """A Job per operation in the cluster, its pod mounting the file system's root.

    The volume is a PersistentVolume like the home claim's (same CSI driver, mount options, volume
    attributes and storage class), whose volume handle is the file system (``fs-...``, or
    ``fs-...::fsap-...`` through the access point named ``runbook_home_job.access_point`` when the
    file system has one), bound to a claim of the same name; both are kept (Retain: deleting them
    never touches the data) and labelled ``app.kubernetes.io/managed-by: sciplat-runbook``.
    """

    kind = "kubernetes_job"
    MOUNT = "/efs"
    SCRIPT_DIR = "/opt/sciplat-runbook"
    LABELS: ClassVar[dict[str, str]] = {"app.kubernetes.io/managed-by": "sciplat-runbook"}
    # Waiting reasons of a container that will not start however long the Job waits.
    CANNOT_START = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError")

    def __init__(self, site: Site) -> None:
        super().__init__(site)
        settings = site.var("runbook_home_job") or {}
        if not isinstance(settings, dict):
            raise Refused(
                f"site {site.name}: runbook_home_job must be a mapping (image, namespace, resources, "
                f"access_point; docs/runbooks/README.md); it is {settings!r}"
            )
        unknown = sorted(set(settings) - {"image", "namespace", "resources", "access_point", "timeout"})
        if unknown:
            raise Refused(
                f"site {site.name}: runbook_home_job has unknown keys {', '.join(unknown)}; the keys are "
                "image, namespace, resources, access_point, timeout"
            )
        self.image = str(settings.get("image") or site.var("home_usage_kubernetes_image") or "")
        if not self.image:
            raise Refused(
                f"site {site.name}: runbook_home_access is kubernetes_job but runbook_home_job.image is not "
                "set: an image with python3 (the home-usage CronJob's, home_usage_kubernetes_image, will do)"
            )
        # Its own namespace: the Jobs never count against the users' quota in the hub's.
        self.namespace = str(settings.get("namespace") or "sciplat-runbook")
        self.claim_namespace = str(site.var("efs_storage_kubernetes_namespace") or "jhub")
        self.claim = str(site.var("efs_storage_pvc_name") or "homes")
        self.resources = settings.get("resources") or {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        }
        self.access_point = str(settings.get("access_point") or "")
        self.timeout = float(settings.get("timeout") or site.var("runbook_wait_timeout", SSH_TIMEOUT))
        self._ready: dict[str, str] = {}
        self.kubeconfig = str(site.var("eks_cluster_kubeconfig_path") or "")
        if not self.kubeconfig or not Path(self.kubeconfig).is_file():
            raise Refused(
                f"site {site.name}: no kubeconfig at {self.kubeconfig or '(none set)'} to reach the "
                "cluster (the cluster stage writes it where eks_cluster_kubeconfig_path says)"
            )

    # -- the API ---------------------------------------------------------------------------------

    def _core(self) -> Any:
        return kube.core(self.site, self.kubeconfig)

    def _batch(self) -> Any:
        return kube.batch(self.site, self.kubeconfig)

    def _home_volume(self) -> Any:
        """The home claim's PersistentVolume: the model of every volume this way makes."""
        core = self._core()
        claim = core.read_namespaced_persistent_volume_claim(
            self.claim, self.claim_namespace, _request_timeout=15
        )
        if not claim.spec.volume_name:
            raise Refused(f"the home claim {self.claim_namespace}/{self.claim} is not bound to a volume yet")
        volume = core.read_persistent_volume(claim.spec.volume_name, _request_timeout=15)
        if volume.spec.csi is None:
            raise Refused(
                f"the home claim's volume {volume.metadata.name} is not a CSI volume: kubernetes_job "
                "mounts EFS file systems through the EFS CSI driver"
            )
        return volume

    def _volume_handle(self, file_system_id: str) -> str:
        if not self.access_point:
            return file_system_id
        from runbooks import aws

        points = aws.client(self.site, "efs").describe_access_points(FileSystemId=file_system_id)
        for point in points.get("AccessPoints", []):
            if {t["Key"]: t["Value"] for t in point.get("Tags", [])}.get("Name") == self.access_point:
                return f"{file_system_id}::{point['AccessPointId']}"
        # A file system restored to a new one has no access points (and no file-system policy) yet.
        return file_system_id

    def _name(self, file_system_id: str) -> str:
        return f"sciplat-runbook-{file_system_id}".lower()

    def _ensure_volume(self, file_system_id: str) -> str:
        """The claim mounting the file system's root, made once and kept; its name."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        core = self._core()
        name = self._name(file_system_id)
        try:
            found = core.read_namespaced_persistent_volume_claim(name, self.namespace, _request_timeout=15)
            if found.status.phase == "Bound":
                return name
        except ApiException as error:
            if error.status != 404:
                raise
            home = self._home_volume()
            csi = home.spec.csi
            volume = client.V1PersistentVolume(
                metadata=client.V1ObjectMeta(name=name, labels=self.LABELS),
                spec=client.V1PersistentVolumeSpec(
                    capacity={"storage": "1Gi"},  # nominal: EFS has no size
                    access_modes=["ReadWriteMany"],
                    persistent_volume_reclaim_policy="Retain",
                    storage_class_name=home.spec.storage_class_name,
                    mount_options=home.spec.mount_options,
                    claim_ref=client.V1ObjectReference(namespace=self.namespace, name=name),
                    csi=client.V1CSIPersistentVolumeSource(
                        driver=csi.driver,
                        volume_handle=self._volume_handle(file_system_id),
                        volume_attributes=csi.volume_attributes,
                    ),
                ),
            )
            try:
                core.create_persistent_volume(volume, _request_timeout=15)
            except ApiException as exists:
                if exists.status != 409:
                    raise
            claim = client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name=name, namespace=self.namespace, labels=self.LABELS),
                spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteMany"],
                    storage_class_name=home.spec.storage_class_name,
                    volume_name=name,
                    resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
                ),
            )
            core.create_namespaced_persistent_volume_claim(self.namespace, claim, _request_timeout=15)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = core.read_namespaced_persistent_volume_claim(name, self.namespace, _request_timeout=15)
            if found.status.phase == "Bound":
                return name
            time.sleep(1)
        raise StepFailed(f"claim {self.namespace}/{name} for {file_system_id} is not Bound after 120 s")

    def _ensure_script(self) -> str:
        """A ConfigMap holding home_ops.py, replaced when its content differs."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        name = "sciplat-runbook-home-ops"
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=name, namespace=self.namespace, labels=self.LABELS),
            data={"home_ops.py": Path(home_ops.__file__).read_text()},
        )
        core = self._core()
        try:
            core.read_namespace(self.namespace, _request_timeout=15)
        except ApiException as error:
            if error.status != 404:
                raise
            namespace = client.V1Namespace(
                metadata=client.V1ObjectMeta(name=self.namespace, labels=self.LABELS)
            )
            core.create_namespace(namespace, _request_timeout=15)
        try:
            current = core.read_namespaced_config_map(name, self.namespace, _request_timeout=15)
        except ApiException as error:
            if error.status != 404:
                raise
            core.create_namespaced_config_map(self.namespace, body, _request_timeout=15)
            return name
        if (current.data or {}) != body.data:
            core.replace_namespaced_config_map(name, self.namespace, body, _request_timeout=15)
        return name

    def _job(self, claim: str, script: str, op: str, args: dict[str, Any]) -> Any:
        from kubernetes import client

        command = ["python3", f"{self.SCRIPT_DIR}/home_ops.py", op, self.MOUNT, json.dumps(args)]
        pod = client.V1PodSpec(
            restart_policy="Never",
            # Root: the homes belong to their users; a restore moves their files and keeps owners.
            security_context=client.V1PodSecurityContext(run_as_user=0, run_as_group=0),
            automount_service_account_token=False,
            containers=[
                client.V1Container(
                    name="home-ops",
                    image=self.image,
                    command=command,
                    resources=client.V1ResourceRequirements(**self.resources),
                    volume_mounts=[
                        client.V1VolumeMount(name="fs", mount_path=self.MOUNT),
                        client.V1VolumeMount(name="script", mount_path=self.SCRIPT_DIR, read_only=True),
                    ],
                )
            ],
            volumes=[
                client.V1Volume(
                    name="fs",
                    persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name=claim),
                ),
                client.V1Volume(name="script", config_map=client.V1ConfigMapVolumeSource(name=script)),
            ],
        )
        return client.V1Job(
            metadata=client.V1ObjectMeta(
                generate_name=f"sciplat-runbook-{op.replace('_', '-')}-",
                namespace=self.namespace,
                labels={**self.LABELS, "sciplat.io/home-op": op.replace("_", "-")},
            ),
            spec=client.V1JobSpec(
                backoff_limit=0,
                active_deadline_seconds=int(self.timeout),
                ttl_seconds_after_finished=3600,
                template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=self.LABELS), spec=pod),
            ),
        )

    def _why_not_running(self, job: str) -> str:
        """What the Job's pod (or the Job controller) last said: a pull error, a mount error, quota."""
        core = self._core()
        pods = core.list_namespaced_pod(self.namespace, label_selector=f"job-name={job}", _request_timeout=15)
        for pod in pods.items:
            for status in pod.status.container_statuses or []:
                waiting = status.state.waiting if status.state else None
                if waiting and waiting.reason:
                    return f"pod {pod.metadata.name}: {waiting.reason}: {waiting.message or ''}".strip()
        names = [job] + [p.metadata.name for p in pods.items]
        events = core.list_namespaced_event(self.namespace, _request_timeout=15).items
        mine = [e for e in events if e.involved_object.name in names and e.type == "Warning"]
        if mine:
            last = mine[-1]
            return f"{last.involved_object.kind} {last.involved_object.name}: {last.reason}: {last.message}"
        return (
            "no pod has run it yet"
            if not pods.items
            else f"pod {pods.items[0].metadata.name} is {pods.items[0].status.phase}"
        )

    def _ops(self, file_system_id: str, op: str, args: dict[str, Any], timeout: float | None = None) -> Any:
        from kubernetes.client.exceptions import ApiException

        limit = timeout or self.timeout
        try:
            # Made or checked once per instance (an operation's several Jobs share them).
            if "script" not in self._ready:
                self._ready["script"] = self._ensure_script()  # with the namespace, first
            if file_system_id not in self._ready:
                self._ready[file_system_id] = self._ensure_volume(file_system_id)
            script, claim = self._ready["script"], self._ready[file_system_id]
            batch = self._batch()
            job = batch.create_namespaced_job(
                self.namespace, self._job(claim, script, op, args), _request_timeout=15
            ).metadata.name
        except ApiException as error:
            raise StepFailed(f"kubernetes_job: {op} on {file_system_id}: {kube.reason(error)}") from error
        failed = ""
        try:
            deadline, polls = time.monotonic() + limit, 0
            while True:
                status = batch.read_namespaced_job_status(job, self.namespace, _request_timeout=15).status
                if status.succeeded or status.failed:
                    break
                polls += 1
                if time.monotonic() > deadline:
                    raise StepFailed(
                        f"kubernetes_job {self.namespace}/{job}: {op} on {file_system_id} did not finish "
                        f"within {limit:.0f} s ({self._why_not_running(job)})"
                    )
                # A pod that can never start (no such image) is reported now, not at the deadline.
                stuck = self._why_not_running(job) if polls % 5 == 0 else ""
                if any(f": {reason}:" in stuck for reason in self.CANNOT_START):
                    raise StepFailed(
                        f"kubernetes_job {self.namespace}/{job}: {op} on {file_system_id} cannot start: "
                        f"{stuck} (runbook_home_job.image)"
                    )
                time.sleep(1)
            core = self._core()
            pods = core.list_namespaced_pod(
                self.namespace, label_selector=f"job-name={job}", _request_timeout=15
            ).items
            output = (
                core.read_namespaced_pod_log(pods[0].metadata.name, self.namespace, _request_timeout=60)
                if pods
                else ""
            )
            if status.failed:
                failed = self._why_not_running(job)
        except ApiException as error:
            raise StepFailed(f"kubernetes_job {self.namespace}/{job}: {kube.reason(error)}") from error
        finally:
            with contextlib.suppress(ApiException):  # else its TTL removes it within the hour
                batch.delete_namespaced_job(
                    job, self.namespace, propagation_policy="Background", _request_timeout=15
                )
        try:
            answer = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError) as error:
            raise StepFailed(
                f"kubernetes_job {self.namespace}/{job}: {op} printed no JSON"
                + (f" ({failed})" if failed else "")
                + f": {output[-300:]!r}"
            ) from error
        if not answer.get("ok"):
            raise StepFailed(
                f"kubernetes_job {self.namespace}/{job}: {op} on {file_system_id}: {answer.get('error')}"
            )
        return answer["result"]

    # -- the interface ---------------------------------------------------------------------------

    def where(self, file_system_id: str) -> str:
        return f"{self.namespace}/{self._name(file_system_id)}:"

    def check(self, file_system_id: str | None = None) -> str:
        from kubernetes.client.exceptions import ApiException

        try:
            if not file_system_id:
                volume = self._home_volume()
                return (
                    f"kubernetes_job: the home claim {self.claim_namespace}/{self.claim} is bound to "
                    f"{volume.metadata.name} ({volume.spec.csi.driver})"
                )
            probe = self._ops(file_system_id, "probe", {}, timeout=min(self.timeout, 300))
        except (ApiException, StepFailed) as error:
            reason = kube.reason(error) if isinstance(error, ApiException) else str(error)
            raise Refused(f"home access through a Kubernetes Job does not work: {reason}") from error
        except Exception as error:  # the API server unreachable, the credential plugin failing
            raise Refused(
                f"home access through a Kubernetes Job: cannot reach the cluster with {self.kubeconfig} "
                f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''})"
            ) from error
        if not probe["writable"]:
            raise Refused(
                f"home access through a Kubernetes Job: the root of {file_system_id} is not writable in "
                "the Job's pod (root squashed? the file-system policy must allow ClientRootAccess to the "
                "role that mounts; docs/runbooks/README.md)"
            )
        python = probe["python"]
        return f"kubernetes_job {self.namespace}: the root of {file_system_id} is writable (python {python})"

    def run(self, file_system_id: str, op: str, **args: Any) -> Any:
        return self._ops(file_system_id, op, args)

    def prune(self) -> list[str]:
        """The volumes and claims of file systems that are gone (deleted, or replaced by a restore and
        removed): a bound claim would otherwise outlive its data for good."""
        from kubernetes.client.exceptions import ApiException

        from runbooks import aws

        efs = aws.client(self.site, "efs")
        core = self._core()
        selector = ",".join(f"{k}={v}" for k, v in self.LABELS.items())
        removed = []
        for volume in core.list_persistent_volume(label_selector=selector, _request_timeout=15).items:
            if volume.metadata.deletion_timestamp:
                continue
            file_system_id = volume.spec.csi.volume_handle.split("::")[0] if volume.spec.csi else ""
            try:
                found = efs.describe_file_systems(FileSystemId=file_system_id)["FileSystems"]
                if found and found[0]["LifeCycleState"] not in ("deleting", "deleted"):
                    continue
            except efs.exceptions.FileSystemNotFound:
                pass
            claim = volume.spec.claim_ref
            try:
                if claim:
                    core.delete_namespaced_persistent_volume_claim(claim.name, claim.namespace)
                core.delete_persistent_volume(volume.metadata.name)
            except ApiException as error:
                if error.status != 404:  # gone already: a run interrupted half-way, re-run
                    raise
            removed.append(f"{volume.metadata.name} ({file_system_id or 'no file system'})")
        return removed


WAYS: dict[str, type[HomeAccess]] = {
    "local_path": LocalFilesystemAccess,
    "ssh_host": SshHostAccess,
    "kubernetes_job": KubernetesJobAccess,
}


def home_access(site: Site) -> HomeAccess:
    kind = site.var("runbook_home_access")
    if kind in WAYS:
        return WAYS[kind](site)
    raise Refused(
        f"site {site.name}: runbook_home_access must be one of {', '.join(WAYS)} "
        f"(set it in the inventory); it is {kind!r}"
    )


def local_root(site: Site, file_system_id: str) -> Path:
    """The file system's root as a directory on this machine (``runbook_home_local``): an emulated
    site's data. The drills read it to measure what a fault lost and a recovery brought back, whichever
    way the procedures themselves reach the homes (``runbook_home_access``)."""
    if not site.var("site_emulated"):
        raise Refused(
            f"site {site.name}: this needs the file system as a directory on this machine, which only an "
            "emulated site (site_emulated: true) has"
        )
    return LocalFilesystemAccess(site).root(file_system_id)


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
