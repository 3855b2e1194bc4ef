"""Steps and checks more than one procedure uses: stage re-converges, cluster checks, hub skips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbooks import aws, kube
from runbooks.ansible import playbook_path, run_playbook
from runbooks.engine import Context, Refused, Step, StepFailed, wait_until
from runbooks.hub import Hub, no_hub_reason


def timeout(ctx: Context) -> float:
    return float(ctx.site.var("runbook_wait_timeout", 1800))


def cluster_problem(ctx: Context) -> str | None:
    """None when the cluster, every node group of the inventory and every add-on are ACTIVE."""
    eks = aws.client(ctx.site, "eks")
    name = aws.cluster_name(ctx.site)
    cluster = aws.describe_cluster(ctx.site)
    if cluster is None or cluster["status"] != "ACTIVE":
        return f"cluster {name} is {cluster['status'] if cluster else 'absent'}"
    for group in aws.node_groups(ctx.site):
        try:
            ng = eks.describe_nodegroup(clusterName=name, nodegroupName=group["name"])["nodegroup"]
        except eks.exceptions.ResourceNotFoundException:
            return f"node group {group['name']} is absent"
        if ng["status"] != "ACTIVE":
            return f"node group {group['name']} is {ng['status']}"
    for addon in eks.list_addons(clusterName=name)["addons"]:
        status = eks.describe_addon(clusterName=name, addonName=addon)["addon"]["status"]
        if status != "ACTIVE":
            return f"add-on {addon} is {status}"
    return None


def cluster_security_group(ctx: Context) -> str | None:
    ec2 = aws.client(ctx.site, "ec2")
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "tag:aws:eks:cluster-name", "Values": [aws.cluster_name(ctx.site)]}]
    )["SecurityGroups"]
    return groups[0]["GroupId"] if groups else None


def home_attached_problem(ctx: Context, file_system_id: str) -> str | None:
    """None when the home file system admits the cluster's nodes and its manifests name it."""
    efs, ec2 = aws.client(ctx.site, "efs"), aws.client(ctx.site, "ec2")

    def ready() -> list[dict[str, Any]] | None:
        targets = efs.describe_mount_targets(FileSystemId=file_system_id)["MountTargets"]
        return targets if targets and all(t["LifeCycleState"] == "available" for t in targets) else None

    targets = wait_until(f"mount targets of {file_system_id}", ready, timeout=timeout(ctx))
    node_sg = cluster_security_group(ctx)
    if node_sg is None:
        return "the cluster has no security group"
    groups = efs.describe_mount_target_security_groups(MountTargetId=targets[0]["MountTargetId"])[
        "SecurityGroups"
    ]
    admitted = {
        pair["GroupId"]
        for group in ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]
        for rule in group.get("IpPermissions", [])
        for pair in rule.get("UserIdGroupPairs", [])
    }
    if node_sg not in admitted:
        return f"the NFS security group of {file_system_id} does not admit the cluster's nodes ({node_sg})"
    manifest_dir = ctx.site.var("efs_storage_manifest_dir")
    if isinstance(manifest_dir, str) and "{{" not in manifest_dir:
        texts = [p.read_text() for p in Path(manifest_dir).expanduser().glob("*.y*ml")]
        if texts and not any(file_system_id in text for text in texts):
            return f"no manifest in {manifest_dir} names {file_system_id}"
    return None


def converge(playbook: str, what: str) -> Step:
    def act(ctx: Context) -> str:
        recap = run_playbook(ctx, playbook)
        return f"{what} converged: {recap['changed']} changed, {recap['ok']} ok"

    def preflight(ctx: Context) -> str | None:
        if not playbook_path(playbook).exists():
            raise Refused(f"playbooks/{playbook} does not exist in this checkout: nothing can be converged")
        return None

    return Step(
        f"reconverge-{what.split()[0]}",
        lambda c: f"run playbooks/{playbook} through ansible-runner ({what})",
        act,
        preflight=preflight,
    )


def hub_skip(ctx: Context) -> str | None:
    reason = no_hub_reason(ctx.site)
    if reason:
        return reason
    if not playbook_path("hub.yml").exists():
        return "playbooks/hub.yml does not exist in this checkout (the hub stage is not merged yet)"
    return None


def hub_converge() -> Step:
    step = converge("hub.yml", "hub stage")
    step.skip = hub_skip
    step.preflight = None  # a site without a hub stage skips it (hub_skip says why)
    return step


def hub_login_user(site: Any) -> tuple[str, str] | None:
    """The user the checks log in as and their password: ``runbook_hub_login_user`` and
    ``runbook_hub_login_password`` (default: the dummy authenticator's ``jupyterhub_dummy_password``)."""
    user = site.var("runbook_hub_login_user")
    password = site.var("runbook_hub_login_password") or site.var("jupyterhub_dummy_password")
    if isinstance(user, str) and user and isinstance(password, str) and password and "{{" not in password:
        return user, password
    return None


def hub_answers(site: Any) -> str:
    """The hub answers: GET /hub/api, and GET /hub/api/user accepts the operators' token; retried
    until ``runbook_hub_wait_timeout`` (a hub just restarted takes seconds to listen)."""
    wait = float(site.var("runbook_hub_wait_timeout", 120))
    last: list[str] = []

    def check() -> str | None:
        try:
            return Hub(site).answers()
        except StepFailed as error:
            last[:] = [str(error)]
            return None

    try:
        return wait_until("the hub to answer", check, timeout=wait, interval=2)
    except StepFailed as error:
        raise StepFailed(f"{error}: {last[0] if last else ''}") from error


def user_logs_in(site: Any) -> str:
    """A user logs in: the login form posted with the user's password (a real login), then their
    server started through the API, answering through the proxy, and stopped again."""
    credentials = hub_login_user(site)
    if credentials is None:
        raise StepFailed(f"site {site.name}: runbook_hub_login_user (and a password) are not set")
    user, password = credentials
    wait = float(site.var("runbook_hub_spawn_timeout", 180))
    hub = Hub(site)
    notes = [hub.login(user, password)]
    notes.append(hub.start_server(user, wait))
    notes.append(hub.server_answers(user))
    notes.append(hub.stop_server(user, wait))
    return "; ".join(notes)


def hub_check_skip(ctx: Context) -> str | None:
    return no_hub_reason(ctx.site)


def login_check_skip(ctx: Context) -> str | None:
    reason = no_hub_reason(ctx.site)
    if reason:
        return reason
    if hub_login_user(ctx.site) is None:
        return f"site {ctx.site.name} names no user to log in as (runbook_hub_login_user and a password)"
    return None


def hub_check_steps() -> list[Step]:
    """Two checks, each a named step with its own deadline: the hub answers; a user logs in."""
    return [
        Step(
            "check-hub-answers",
            lambda c: "GET /hub/api with the operators' token until the hub answers",
            lambda c: hub_answers(c.site),
            skip=hub_check_skip,
        ),
        Step(
            "check-user-login",
            lambda c: "log a user in through /hub/login, start their server, see it answer, stop it",
            lambda c: user_logs_in(c.site),
            skip=login_check_skip,
        ),
    ]


def kubernetes_skip(ctx: Context) -> str | None:
    if not ctx.site.var("runbook_kubernetes_api"):
        return (
            f"site {ctx.site.name} has no Kubernetes API server to ask (runbook_kubernetes_api is false): "
            "nodes joining, the home claim binding and the hub pod are not checked"
        )
    return None


def kubernetes_check(ctx: Context) -> str:
    """Nodes Ready and the home claim Bound, through the kubernetes client and the site's kubeconfig.

    The kubeconfig's credential plugin (`aws eks get-token`) runs with the site's AWS environment
    (profile, endpoint), as every AWS call of the procedure does.
    """
    namespace = str(ctx.site.var("efs_storage_kubernetes_namespace") or "jhub")
    claim = str(ctx.site.var("efs_storage_pvc_name") or "homes")
    kubeconfig = str(ctx.site.resolve("eks_cluster_kubeconfig_path", ""))

    last_error: list[str] = []

    def ready() -> str | None:
        try:
            with ctx.site.aws():
                core = kube.core(ctx.site, kubeconfig)
                nodes = core.list_node(_request_timeout=10).items
                pvc = core.read_namespaced_persistent_volume_claim(claim, namespace, _request_timeout=10)
        except Exception as error:  # not up yet, or refusing us: keep asking, say why at the end
            reason = getattr(error, "reason", None) or str(error).splitlines()[0]
            last_error[:] = [f"{type(error).__name__}: {reason}"[:200]]
            return None
        ready_nodes = [
            n
            for n in nodes
            if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ]
        if ready_nodes and pvc.status.phase == "Bound":
            return f"{len(ready_nodes)} nodes Ready, claim {namespace}/{claim} Bound"
        return None

    cluster = ctx.site.var("eks_cluster_name")
    try:
        return wait_until("nodes Ready and the home claim Bound", ready, timeout=timeout(ctx), interval=5)
    except StepFailed as failed:
        detail = f"; the API server of cluster {cluster} last answered {last_error[0]}" if last_error else ""
        raise StepFailed(f"{failed}{detail} (kubeconfig {kubeconfig})") from None


def kubernetes_step() -> Step:
    return Step(
        "check-kubernetes",
        lambda c: "ask the Kubernetes API: nodes Ready, the home claim Bound",
        kubernetes_check,
        skip=kubernetes_skip,
    )
