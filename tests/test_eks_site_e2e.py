"""The local EKS site end to end: the EKS backend's hub serves users from real pods.

What `make demo SITE=local-eks` does, against a private emulator: the stand-in zero-to-jupyterhub
chart and its images (emulator/kube/z2jh_chart), a converge of inventories/local-eks, one science
environment's image pushed to the emulated ECR, the public data (small FITS files in s3://stpubdata)
seeded; then a user logs in and gets a server in a pod on the user node, a second user is refused by
the namespace's compute quota, the home-usage CronJob's figures refuse a user over quota (an e-mail
user name, which KubeSpawner escapes into the home's directory name), a profile whose image was never
pushed is refused at once, the cost cap refuses new servers, the idle culler stops an idle server, the
runbooks reach the homes and replace a node group, and a second converge changes nothing.

In headless chromium (tests/hub_browser.py; skipped, with the reason, without chromium and
chromedriver: `make host-deps`): the three refusal pages as a user sees them (saved as
docs/img/hub-eks-refused-{namespace,storage,cost-cap}.png), and a user who chooses the HST profile,
whose image is pushed then, gets JupyterLab in a pod from that image, where a notebook's cell reads a
FITS file of the public data from the emulated S3 through the node's route (docs/img/hub-eks-lab.png),
under the storage notice JupyterLab shows near the quota (docs/img/hub-eks-lab-notice.png).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from ansible_run import TEST_TIME_SCALE, PlaybookRun, run_playbook
from hub_browser import (
    ROOT,
    LocalHub,
    body_text,
    browser_available,
    chromium,
    log_in,
    notice,
    open_from_notice,
    refusal_text,
    run_notebook_cell,
    submit_spawn_form,
    waiter,
)
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from emulator import environment_image
from emulator.kube import build, z2jh
from emulator.launcher import CLIENT_ENV, Emulator, running_emulator
from environments import build as environment_build
from environments import core as environments
from environments.image import kernel_name
from runbooks.site import load_site

pytestmark = pytest.mark.e2e

SITE = load_site("local-eks")
# Other ports than `make demo SITE=local-eks` uses, so both can run at once; two checkouts running this
# file at once give one of them others (SCIPLAT_TEST_EKS_PORTS=public,hub_api, both node ports).
_public, _hub_api = os.environ.get("SCIPLAT_TEST_EKS_PORTS", "30180,30181").split(",")
PORTS = {"public": int(_public), "hub_api": int(_hub_api)}
URL = f"http://127.0.0.1:{PORTS['public']}"
CLUSTER = "local-eks-hub"
NAMESPACE = "jhub"
PASSWORD = "sciplat-demo"
# The profile whose image the fixture pushes (the same environment test_environment_images builds, so its
# layers are cached); the hst profile's image is pushed only by the browser's JupyterLab test, after the
# test that needs it missing.
PROFILE, ENVIRONMENT = "tess", ("tess", "2026.11")
HST = ("hst", "2026.11")
IMG = ROOT / "docs" / "img"
NO_BROWSER = "needs chromium and chromium-driver (make host-deps)"


@dataclass
class EksSite:
    emulator: Emulator
    converge: PlaybookRun
    env: dict[str, str]
    public_data: list[str]  # the keys seeded into s3://stpubdata

    @property
    def admin_kubeconfig(self) -> Path:
        return self.emulator.state_dir / "kube" / "123456789012" / "us-east-1" / CLUSTER / "admin.kubeconfig"

    def core(self) -> Any:
        from kubernetes import client, config

        return client.CoreV1Api(config.new_client_from_config(str(self.admin_kubeconfig)))

    def batch(self) -> Any:
        from kubernetes import client, config

        return client.BatchV1Api(config.new_client_from_config(str(self.admin_kubeconfig)))

    def aws(self, service: str) -> Any:
        """A client of the site's emulated AWS (the test keys)."""
        return boto3.client(
            service,
            endpoint_url=self.emulator.endpoint,
            region_name=CLIENT_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=CLIENT_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def converge_again(self) -> PlaybookRun:
        return run_playbook(
            "site.yml",
            site="local-eks",
            state_dir=self.emulator.state_dir,
            extra_vars=EXTRA_VARS,
            env=self.env,
        )


# A compute budget of two servers' worth beside the hub (1 CPU) and the home-usage job (0.25 CPU):
# one user's server fits, a second does not. The idle culler short, so that an idle server goes within
# the module's run; not at the role's minimum (60 s): a server tells the hub of its activity every
# 5 minutes only, so a server in use counts as idle once this long after its start, and the browser's
# JupyterLab test (a lab loaded twice, a kernel started) must end before.
EXTRA_VARS = {
    "site_hub_ports": PORTS,
    "jupyterhub_eks_quota_cpu": "2.5",
    "jupyterhub_culler_timeout": 120,
    "jupyterhub_culler_every": 10,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EksSite]:
    state = tmp_path_factory.mktemp("eks-site")
    with running_emulator(state, time_scale=TEST_TIME_SCALE) as emulator:
        output = state / "site-output"
        z2jh.package(output / "charts" / "jupyterhub-4.4.0.tgz")
        for archive in z2jh.archives(log=lambda message: None):
            environment_image.push(archive, emulator.endpoint, registry="public")
        env = {"SITE_OUTPUT_DIR": str(output), "PATH": f"{os.environ['PATH']}:{build.bin_dir()}"}
        converge = run_playbook("site.yml", site="local-eks", state_dir=state, extra_vars=EXTRA_VARS, env=env)
        assert converge.returncode == 0, converge.output[-6000:]
        push_image(emulator, ENVIRONMENT)
        # What `make demo SITE=local-eks` seeds (make eks-images): the FITS files users' notebooks read.
        built = environment_build.build(environments.get(*HST))
        public_data = environment_build.seed_public_data(built, emulator.client_env())
        yield EksSite(emulator, converge, env, public_data)


def push_image(emulator: Emulator, environment: tuple[str, str]) -> None:
    """Build the environment's image here and push it to the emulated ECR (CodeBuild's job on AWS)."""
    archive = environment_image.image(
        environments.get(*environment), SITE.var("image_pipeline_registry"), log=lambda message: None
    )
    environment_image.push(archive, emulator.endpoint)


def login(user: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{URL}/hub/login", timeout=30)
    answer = session.post(
        f"{URL}/hub/login",
        data={"username": user, "password": PASSWORD, "_xsrf": session.cookies.get("_xsrf")},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[-2000:]
    return session


def spawn(session: requests.Session, user: str, profile: str) -> requests.Response:
    return session.post(
        f"{URL}/hub/spawn/{user}",
        data={"profile": profile, "_xsrf": session.cookies.get("_xsrf")},
        timeout=120,
    )


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def server_story(site: EksSite, user: str) -> str:
    """Why a user's server is not up (for a failure's message): its pod, its events, the hub's log."""
    from kubernetes.client.exceptions import ApiException

    core = site.core()
    lines = []
    try:
        status = core.read_namespaced_pod(f"jupyter-{user}", NAMESPACE).status
        lines.append(f"pod jupyter-{user}: {status.phase}; containers: {status.container_statuses}")
    except ApiException as error:
        lines.append(f"pod jupyter-{user}: {error.reason}")
    events = core.list_namespaced_event(NAMESPACE, field_selector=f"involvedObject.name=jupyter-{user}")
    lines += [f"event: {e.reason}: {e.message}" for e in events.items[-10:]]
    try:
        server_log = core.read_namespaced_pod_log(f"jupyter-{user}", NAMESPACE, tail_lines=40)
        lines += ["server log:", server_log]
    except ApiException as error:
        lines.append(f"server log: {error.reason}")
    (hub,) = core.list_namespaced_pod(NAMESPACE, label_selector="component=hub").items
    log = core.read_namespaced_pod_log(hub.metadata.name, NAMESPACE, container="hub", tail_lines=40)
    return "\n".join([*lines, "hub log:", log])


def refusal_in_browser(user: str, profile: str, kind: str, screenshot: str) -> str:
    """What ``user`` sees in chromium after choosing ``profile`` on the spawn page: the refusal page's
    visible text, saved as docs/img/<screenshot>. Skips the rest of the test without a browser (the
    page's HTML has been checked by then)."""
    if not browser_available():
        pytest.skip(f"the refusal page in a browser {NO_BROWSER}")
    hub = LocalHub(URL, token="")  # no API calls: the user's own pages only
    with chromium() as driver:
        log_in(driver, hub, user)
        assert "/hub/spawn" in driver.current_url, driver.current_url  # no server runs
        submit_spawn_form(driver, hub, user, profile)
        text = refusal_text(driver, kind)
        assert not driver.find_elements(By.CSS_SELECTOR, ".progress, #spawn_form"), "a progress bar or form"
        IMG.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(IMG / screenshot))
    return text


def assert_says_what_happened_and_what_to_do(page: str, what: str, to_do: str) -> None:
    """One refusal, once: what happened, what the user can do; no progress, no operator's command."""
    assert page.count(what) == 1, page
    assert "What you can do" in page and to_do in page, page
    for absent in ("starting up", "Spawn failed", "Server Options", "Error:", "runbook", "kubectl", "helm "):
        assert absent not in page, (absent, page)


def test_the_converge_installs_the_hub_and_names_its_url(site: EksSite) -> None:
    assert f"hub: {URL}/" in site.converge.output
    assert requests.get(f"{URL}/hub/health", timeout=10).status_code == 200
    core = site.core()
    (hub,) = core.list_namespaced_pod(NAMESPACE, label_selector="component=hub").items
    node = core.read_node(hub.spec.node_name)
    assert node.metadata.labels["hub.jupyter.org/node-purpose"] == "core"
    quota = core.read_namespaced_resource_quota("jupyterhub-compute", NAMESPACE)
    assert quota.spec.hard["limits.cpu"] == "2500m"  # EXTRA_VARS' jupyterhub_eks_quota_cpu, 2.5


def test_a_users_server_is_a_pod_of_the_profile_on_the_user_node(site: EksSite) -> None:
    session = login("astro1")
    spawn(session, "astro1", PROFILE)

    def lab() -> requests.Response | None:
        # Until the server is up the hub answers for it (its spawn page), with 200 too.
        answer = session.get(f"{URL}/user/astro1/lab", timeout=30)
        return (
            answer if answer.url.startswith(f"{URL}/user/astro1/lab") and answer.status_code == 200 else None
        )

    try:
        answer = wait_for(lab, 300, "astro1's JupyterLab")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{server_story(site, 'astro1')}") from None
    assert "jupyter-config-data" in answer.text
    core = site.core()
    pod = core.read_namespaced_pod("jupyter-astro1", NAMESPACE)
    (profile,) = [p for p in SITE.var("jupyterhub_profiles") if p["slug"] == PROFILE]
    (container,) = pod.spec.containers
    assert container.image == profile["image"]
    # KubeSpawner reads the profile's "2G" as 2 GiB.
    assert container.resources.limits == {"cpu": "1", "memory": str(2 * 2**30)}
    assert pod.spec.node_selector == {"hub.jupyter.org/node-purpose": "user"}
    assert core.read_node(pod.spec.node_name).metadata.labels["hub.jupyter.org/node-purpose"] == "user"
    (home,) = [m for m in container.volume_mounts if m.mount_path == "/home/jovyan"]
    assert home.sub_path == "astro1"
    (claim,) = [v for v in pod.spec.volumes if v.name == home.name]
    assert claim.persistent_volume_claim.claim_name == SITE.var("efs_storage_pvc_name")
    assert "block-cloud-metadata" in [c.name for c in pod.spec.init_containers]


def test_a_server_beyond_the_namespace_quota_is_refused_with_a_clear_page(site: EksSite) -> None:
    """astro1's server (the test before) holds the budget: Kubernetes refuses astro2's pod, and astro2
    reads why on the spawn page, at once, not after a timeout; in the browser too."""
    session = login("astro2")
    refused = spawn(session, "astro2", PROFILE)
    text = re.sub(r"\s+", " ", refused.text)
    assert "the platform is full right now" in text, text[-3000:]
    assert "starting up" not in text.lower()
    with pytest.raises(Exception, match="Not Found"):
        site.core().read_namespaced_pod("jupyter-astro2", NAMESPACE)

    assert site.core().read_namespaced_pod("jupyter-astro1", NAMESPACE).status.phase == "Running"
    page = refusal_in_browser("astro2", PROFILE, "compute-quota", "hub-eks-refused-namespace.png")
    assert_says_what_happened_and_what_to_do(
        page, "Your server cannot start: the platform is full right now", "Or try again in a few minutes."
    )
    assert "All users' servers together have reached the site's compute limit" in page, page
    with pytest.raises(Exception, match="Not Found"):
        site.core().read_namespaced_pod("jupyter-astro2", NAMESPACE)


def test_an_idle_server_is_culled(site: EksSite) -> None:
    """astro1's server (idle since its JupyterLab answered) is stopped by the chart's idle culler once
    idle for jupyterhub_culler_timeout (120 s here, checked every 10 s): the pod goes."""
    core = site.core()

    def culled() -> bool:
        return not core.list_namespaced_pod(NAMESPACE, field_selector="metadata.name=jupyter-astro1").items

    wait_for(culled, 300, "the idle culler to stop astro1's server")
    (hub,) = core.list_namespaced_pod(NAMESPACE, label_selector="component=hub").items
    assert "Culling server astro1 (inactive for" in core.read_namespaced_pod_log(hub.metadata.name, NAMESPACE)


def homes_dir(site: EksSite) -> Path:
    efs = site.aws("efs")
    (fs,) = [
        f for f in efs.describe_file_systems()["FileSystems"] if f.get("Name") == SITE.var("efs_storage_name")
    ]
    return site.emulator.state_dir / "efs" / fs["FileSystemId"] / "home"


def run_home_usage_now(site: EksSite) -> None:
    """Start the CronJob's job now (kubectl create job --from=cronjob/...) and wait for it."""
    from kubernetes import client

    batch = site.batch()
    name = "sciplat-home-usage"  # the home_usage role's default home_usage_kubernetes_name
    cron = batch.read_namespaced_cron_job(name, NAMESPACE)
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name=f"{name}-test-{int(time.time())}"),
        spec=cron.spec.job_template.spec,
    )
    created = batch.create_namespaced_job(NAMESPACE, job)
    wait_for(
        lambda: (
            (batch.read_namespaced_job_status(created.metadata.name, NAMESPACE).status.succeeded or 0) > 0
        ),
        180,
        "the home-usage job",
    )


def test_the_usage_figures_refuse_an_email_user_over_quota(site: EksSite) -> None:
    from kubespawner.slugs import safe_slug

    user = "astro3@example.org"
    directory = safe_slug(user)
    assert re.fullmatch(r"astro3-example-org---[0-9a-f]{8}", directory)
    home = homes_dir(site) / directory
    home.mkdir(parents=True, exist_ok=True)
    (home / "big.fits").write_bytes(os.urandom(60 * 2**20))
    for path in (home, home / "big.fits"):
        os.chown(path, 1000, 1000)
    run_home_usage_now(site)

    session = login(user)
    refused = spawn(session, user, PROFILE)
    text = re.sub(r"\s+", " ", refused.text)
    assert "50" in text and "quota" in text.lower(), text[-3000:]
    with pytest.raises(Exception, match="Not Found"):
        site.core().read_namespaced_pod(f"jupyter-{directory}", NAMESPACE)

    page = refusal_in_browser(user, PROFILE, "storage", "hub-eks-refused-storage.png")
    assert_says_what_happened_and_what_to_do(
        page,
        "Your server cannot start: your home directory is over its storage quota",
        "Delete or move at least 10",  # 60 MiB in a home with a quota of 50 MiB
    )
    assert "Your home directory uses 60" in page and "your quota is 50 MiB" in page, page
    assert "Try again after the next measurement." in page, page
    with pytest.raises(Exception, match="Not Found"):
        site.core().read_namespaced_pod(f"jupyter-{directory}", NAMESPACE)


def runbook(site: EksSite, *argv: str) -> subprocess.CompletedProcess[str]:
    """The `runbook` command on this site, as an operator runs it (its own process and environment)."""
    env = {**os.environ, **site.env, "EMULATOR_STATE_DIR": str(site.emulator.state_dir)}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    command = [str(Path(sys.executable).parent / "runbook"), *argv, "--site", "local-eks"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def test_the_runbooks_reach_the_homes_through_a_kubernetes_job(
    site: EksSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runbook_home_access kubernetes_job (the local EKS inventory's, as on a real EKS site): the quota
    report reads the CronJob's figures, and restore-user-home stops astro1's server through the hub's
    API (the operators' token the hub stage generated), moves their files back and starts it again;
    each file operation a Job whose pod mounts the file system's root."""
    import dataclasses

    from runbooks import aws
    from runbooks.engine import Run
    from runbooks.hub import Hub
    from runbooks.procedures import get, parse_args

    monkeypatch.setenv("EMULATOR_STATE_DIR", str(site.emulator.state_dir))
    monkeypatch.setenv("SITE_OUTPUT_DIR", site.env["SITE_OUTPUT_DIR"])
    monkeypatch.setenv("PATH", site.env["PATH"])
    loaded = load_site("local-eks")
    assert loaded.var("runbook_home_access") == "kubernetes_job"
    fs = aws.find_home_fs(loaded)
    assert fs is not None
    volume = f"sciplat-runbook-{fs['FileSystemId']}"

    report = runbook(site, "quota-report", "--format", "json")
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    figures = json.loads(report.stdout)
    assert figures["usage_file"].startswith(f"kubernetes_job sciplat-runbook/{volume}:/home/.sciplat-usage/")
    big = [row for row in figures["users"] if "astro3" in row["user"] and row["bytes"] >= 60 * 2**20]
    assert big, figures["users"]  # the e-mail user's 60 MiB, as the CronJob measured them

    # The hub on this test's port (the inventory's is `make demo`'s).
    runbook_site = dataclasses.replace(loaded, hostvars={**loaded.hostvars, "runbook_hub_url": URL + "/"})
    hub = Hub(runbook_site)
    session = login("astro1")
    spawn(session, "astro1", PROFILE)
    wait_for(lambda: hub.server_running("astro1") or None, 300, "astro1's server")
    home = homes_dir(site) / "astro1"
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "notes.md").write_text("# observing log\n")
    (home / "data" / "frame.fits").write_bytes(os.urandom(256 * 1024))
    for path in (home / "data", home / "notes.md", home / "data" / "frame.fits"):
        os.chown(path, 1000, 1000)
    frame = (home / "data" / "frame.fits").read_bytes()
    aws.start_backup(runbook_site, fs, 120)
    (home / "data" / "frame.fits").unlink()
    (home / "notes.md").write_text("# observing log, newer\n")

    module = get("restore-user-home")
    lines: list[str] = []
    params = parse_args(module, ["--user", "astro1"])
    run = Run(runbook_site, module.NAME, module.steps, params, apply=True, yes=True, echo=lines.append)
    run.execute()
    text = "\n".join(lines)
    assert "astro1's server is stopped" in text and "astro1's server is running" in text, text
    # The server's own files (JupyterLab's state) come and go; the two the test wrote are what it knows.
    outcome = run.ctx.data["outcome"]
    assert "data/frame.fits" in outcome["moved"] and outcome["kept_newer"] == ["notes.md"], text
    assert (home / "data" / "frame.fits").read_bytes() == frame
    assert (home / "data" / "frame.fits").stat().st_uid == 1000  # the owner kept, though the Job is root
    assert (home / "notes.md").read_text() == "# observing log, newer\n"  # the newer file kept
    # The Jobs are gone once read; the volume stays, bound, for the next run (Retain: it holds no data).
    jobs = site.batch().list_namespaced_job(
        "sciplat-runbook", label_selector="app.kubernetes.io/managed-by=sciplat-runbook"
    )
    assert [j for j in jobs.items if not j.metadata.deletion_timestamp] == []
    claim = site.core().read_namespaced_persistent_volume_claim(volume, "sciplat-runbook")
    assert claim.status.phase == "Bound"
    assert site.core().read_persistent_volume(volume).spec.csi.volume_handle == fs["FileSystemId"]
    assert hub.stop_server("astro1", 120) == "astro1's server is stopped"  # the namespace's budget back


def test_a_runbook_job_whose_image_cannot_be_pulled_is_reported_at_once(
    site: EksSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """runbook_home_job.image names nothing the nodes can pull: the report refuses once the pod says
    so, naming the variable and the pull error, instead of waiting out the Job's deadline."""
    import dataclasses

    from runbooks import quota_report

    monkeypatch.setenv("EMULATOR_STATE_DIR", str(site.emulator.state_dir))
    monkeypatch.setenv("SITE_OUTPUT_DIR", site.env["SITE_OUTPUT_DIR"])
    loaded = load_site("local-eks")
    job = {"image": "docker.io/library/no-such-image:1", "timeout": 600}
    broken = dataclasses.replace(loaded, hostvars={**loaded.hostvars, "runbook_home_job": job})
    with pytest.raises(
        quota_report.Refused, match=r"cannot start: pod .*: (ErrImagePull|ImagePullBackOff).*image"
    ):
        quota_report.report(broken)  # "did not finish within 600 s" if it had waited for the deadline


def test_a_profile_whose_image_was_never_pushed_is_refused_at_once(site: EksSite) -> None:
    """The hst profile's image is not in the emulated ECR: the hub asks ECR once the profile is chosen
    and refuses with a page naming the environment, before any pod pulls in a loop."""
    (profile,) = [p for p in SITE.var("jupyterhub_profiles") if p["slug"] == "hst"]
    session = login("astro2")  # allowed, and without a server (the namespace quota refused it)
    refused = spawn(session, "astro2", "hst")
    text = re.sub(r"\s+", " ", refused.text)
    assert f"the {profile['display_name']} environment is not available" in text, text[-3000:]
    assert "Choose another environment" in text
    assert "starting up" not in text.lower()  # the answer to the request itself, not a pending page
    with pytest.raises(Exception, match="Not Found"):
        site.core().read_namespaced_pod("jupyter-astro2", NAMESPACE)


def test_the_cost_cap_refuses_new_servers_with_its_page(site: EksSite) -> None:
    """While the cap's parameter exists (what `runbook run cost-cap on` writes) the hub in its pod reads
    it from the emulated SSM, without boto3, and a new server is refused with the cost cap's page; in
    the browser too."""
    ssm = site.aws("ssm")
    parameter = SITE.var("jupyterhub_cost_cap_parameter")
    record = {"enabled": True, "since": "2026-12-05T06:00:00+00:00", "reason": "e2e budget alarm"}
    ssm.put_parameter(Name=parameter, Type="String", Value=json.dumps(record), Overwrite=True)
    time.sleep(6)  # the hub reuses a reading for 5 s (CostCap.cache_seconds): the last spawn's is stale
    try:
        session = login("astro2")  # allowed, and without a server (the namespace quota refused it)
        refused = spawn(session, "astro2", PROFILE)
        text = re.sub(r"\s+", " ", refused.text)
        assert "New servers are paused" in text and "e2e budget alarm" in text, text[-3000:]
        with pytest.raises(Exception, match="Not Found"):
            site.core().read_namespaced_pod("jupyter-astro2", NAMESPACE)

        page = refusal_in_browser("astro2", PROFILE, "cost-cap", "hub-eks-refused-cost-cap.png")
        assert_says_what_happened_and_what_to_do(
            page, "New servers are paused: the site has reached its spending limit", "Try again later."
        )
        assert "The site's cost cap has been on since 2026-12-05 06:00 UTC (e2e budget alarm)." in page, page
        assert "Who can tell you more: the local EKS site's operators." in page, page
        with pytest.raises(Exception, match="Not Found"):
            site.core().read_namespaced_pod("jupyter-astro2", NAMESPACE)
    finally:
        ssm.delete_parameter(Name=parameter)


def test_replace_node_group_drains_honouring_disruption_budgets(
    site: EksSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """replace-node-group user: a pod on the user node whose disruption budget allows no eviction
    stops the drain before anything is deleted, naming the pod; with the budget gone, a resumed run
    evicts it, replaces the node group and ends with its new node Ready."""
    from kubernetes import client

    from runbooks import aws
    from runbooks.engine import Run, StepFailed
    from runbooks.procedures import get, parse_args

    monkeypatch.setenv("EMULATOR_STATE_DIR", str(site.emulator.state_dir))
    monkeypatch.setenv("SITE_OUTPUT_DIR", site.env["SITE_OUTPUT_DIR"])
    monkeypatch.setenv("PATH", site.env["PATH"])
    runbook_site = load_site("local-eks")
    core, policy = site.core(), client.PolicyV1Api(site.core().api_client)
    namespace, labels = "drain-test", {"app": "drain-test"}
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="survey-worker", namespace=namespace, labels=labels),
        spec=client.V1PodSpec(
            node_selector={"hub.jupyter.org/node-purpose": "user"},
            tolerations=[client.V1Toleration(key="hub.jupyter.org/dedicated", operator="Exists")],
            containers=[client.V1Container(name="pause", image="registry.k8s.io/pause:3.10")],
        ),
    )
    core.create_namespaced_pod(namespace, pod)
    wait_for(
        lambda: core.read_namespaced_pod("survey-worker", namespace).status.phase == "Running" or None,
        120,
        "the pod on the user node",
    )
    budget = client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="survey-worker", namespace=namespace),
        spec=client.V1PodDisruptionBudgetSpec(
            max_unavailable=0, selector=client.V1LabelSelector(match_labels=labels)
        ),
    )
    policy.create_namespaced_pod_disruption_budget(namespace, budget)
    eks = aws.client(runbook_site, "eks")
    before = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="user")["nodegroup"]["nodegroupArn"]

    module = get("replace-node-group")
    params = parse_args(module, ["--group", "user", "--drain-timeout", "15"])
    lines: list[str] = []
    first = Run(runbook_site, module.NAME, module.steps, params, apply=True, yes=True, echo=lines.append)
    with pytest.raises(StepFailed, match=r"drain-test/survey-worker: Cannot evict pod .*disruption budget"):
        first.execute()
    assert (
        eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="user")["nodegroup"]["nodegroupArn"]
        == before
    )
    (node,) = core.list_node(label_selector="eks.amazonaws.com/nodegroup=user").items
    assert node.spec.unschedulable is True  # cordoned, and kept so until the run ends

    policy.delete_namespaced_pod_disruption_budget("survey-worker", namespace)
    resumed = Run(
        runbook_site,
        module.NAME,
        module.steps,
        params,
        apply=True,
        yes=True,
        echo=lines.append,
        resume=first.run_id,
    )
    resumed.execute()
    assert any("1 nodes cordoned, 1 pods evicted (drain-test/survey-worker)" in line for line in lines), lines
    assert any("1 new nodes Ready and schedulable" in line for line in lines), lines
    with pytest.raises(client.exceptions.ApiException, match="Not Found"):
        core.read_namespaced_pod("survey-worker", namespace)
    after = eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="user")["nodegroup"]
    assert after["nodegroupArn"] != before and after["status"] == "ACTIVE"
    nodes = core.list_node(label_selector="eks.amazonaws.com/nodegroup=user").items
    assert nodes and all(
        {c.type: c.status for c in n.status.conditions}.get("Ready") == "True" and not n.spec.unschedulable
        for n in nodes
    )
    core.delete_namespace(namespace)


# The cell a user runs: the public data with boto3, its endpoint from the environment (AWS_ENDPOINT_URL).
PUBLIC_DATA_CELL = """import io, os
import boto3
from astropy.io import fits

s3 = boto3.client("s3")
listing = s3.list_objects_v2(Bucket="stpubdata", Prefix="hst/public/")
key = sorted(o["Key"] for o in listing["Contents"] if o["Key"].endswith(".fits"))[0]
with fits.open(io.BytesIO(s3.get_object(Bucket="stpubdata", Key=key)["Body"].read())) as hdus:
    print(key, hdus[0].header["TELESCOP"], hdus["SCI"].data.shape, "via", os.environ["AWS_ENDPOINT_URL"])
"""


@pytest.mark.skipif(not browser_available(), reason=NO_BROWSER)
def test_a_user_chooses_hst_and_a_notebook_in_its_pod_reads_the_public_data(site: EksSite) -> None:
    """The hst image is pushed now (the refusal of a missing image is checked before). astro2, whose home
    the home-usage job measured near its quota, logs in, chooses HST on KubeSpawner's list, and JupyterLab
    opens from a pod of the hst image on the user node, with the storage notice (the image's
    sciplat-storage-notice extension asking the hub) saying the whole warning
    (docs/img/hub-eks-lab-notice.png), whose button opens the hub's storage page
    (docs/img/hub-eks-storage-page.png);
    a notebook's cell on the environment's kernel lists s3://stpubdata/hst/public/ and reads a FITS file
    from the emulated S3, through the route of the node the pod runs on."""
    (key,) = [k for k in site.public_data if k.startswith("hst/public/")]
    push_image(site.emulator, HST)
    user = "astro2"
    (profile,) = [p for p in SITE.var("jupyterhub_profiles") if p["slug"] == HST[0]]
    home = homes_dir(site) / user
    home.mkdir(parents=True, exist_ok=True)
    filler = home / "near-quota.bin"
    with filler.open("wb") as out:  # astro2 is staff, whose quota is 200 MiB: near it, a server still starts
        for _ in range(19):
            out.write(os.urandom(10 * 2**20))
    for path in (home, filler):
        os.chown(path, 1000, 1000)
    run_home_usage_now(site)
    hub = LocalHub.for_user(URL, user)
    try:
        with chromium() as driver:
            log_in(driver, hub, user)
            submit_spawn_form(driver, hub, user, HST[0])
            try:
                waiter(driver, 300).until(
                    expected_conditions.presence_of_element_located((By.ID, "jp-main-dock-panel"))
                )
            except TimeoutException:
                raise AssertionError(f"no JupyterLab after 300 s\n{server_story(site, user)}") from None
            assert f"/user/{user}/lab" in driver.current_url, driver.current_url
            try:
                waiter(driver, 60).until(lambda d: "of your 200 MiB storage quota" in body_text(d))
            except TimeoutException:
                answer = driver.execute_script(
                    "const x = document.cookie.match(/(?:^|;\\s*)_xsrf=([^;]*)/);"
                    "const headers = x ? {'X-XSRFToken': decodeURIComponent(x[1])} : {};"
                    "return fetch(arguments[0], {headers})"
                    ".then(r => r.text().then(t => r.status + ' ' + t)).catch(e => String(e))",
                    f"{URL}/user/{user}/sciplat/storage-notice",
                )
                raise AssertionError(
                    f"no storage notice after 60 s; the server's notice endpoint: {answer}\n"
                    f"{server_story(site, user)}"
                ) from None
            toast_element, toast = notice(driver, "storage quota")
            assert "Your home uses 190" in toast, toast
            assert "Over the quota, new servers will not start." in toast, toast
            assert "Open storage page" in toast and "…" not in toast and "Ignore" not in toast, toast
            # Whole on the screen once it has slid in; no news prompt or update check beside it.
            waiter(driver, 10).until(
                lambda d: d.execute_script(
                    "const r = arguments[0].getBoundingClientRect();"
                    "return r.left >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight",
                    toast_element,
                )
            )
            assert "Jupyter news" not in body_text(driver) and "update" not in body_text(driver).lower()
            IMG.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(IMG / "hub-eks-lab-notice.png"))
            # The notice's button opens the hub's storage page, served by the hub pod from the same figures.
            lab = driver.current_window_handle
            driver.switch_to.window(open_from_notice(driver, "storage quota", "Open storage page"))
            waiter(driver, 60).until(lambda d: "Your storage" in body_text(d))
            page = body_text(driver)
            assert "Your home directory uses 190" in page and "of your 200 MiB quota (95" in page, page
            assert "Measured 20" in page and " UTC." in page, page
            driver.save_screenshot(str(IMG / "hub-eks-storage-page.png"))
            driver.close()
            driver.switch_to.window(lab)
            core = site.core()
            pod = core.read_namespaced_pod(f"jupyter-{user}", NAMESPACE)
            assert [c.image for c in pod.spec.containers] == [profile["image"]]
            labels = core.read_node(pod.spec.node_name).metadata.labels
            assert labels["hub.jupyter.org/node-purpose"] == "user"

            name = f"public-data-{secrets.token_hex(4)}.ipynb"
            hub.put_notebook(user, name, PUBLIC_DATA_CELL, kernel=kernel_name(environments.get(*HST)))
            output = run_notebook_cell(driver, hub, user, name, timeout=180)
            port = site.emulator.endpoint.rsplit(":", 1)[1]
            expected = f"{key} HST (64, 64) via http://{pod.status.host_ip}:{port}"
            assert output.strip() == expected, output
            driver.save_screenshot(str(IMG / "hub-eks-lab.png"))
            hub.delete_file(user, name)
    finally:
        hub.stop_server(user, 120)  # the namespace's budget back
        filler.unlink()


def test_a_second_converge_changes_nothing(site: EksSite) -> None:
    run = site.converge_again()
    assert run.returncode == 0, run.output[-4000:]
    assert run.changed == 0, run.output[-8000:]
