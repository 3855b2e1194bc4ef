"""The image build's smoke notebooks run without the credentials that push (issue 17).

The buildspec the image_pipeline role renders is run here as CodeBuild runs it (phases in order, each
command in `sh -c`, a failed build phase still followed by post_build with CODEBUILD_BUILD_SUCCEEDING=0,
a failed pre_build ending the build), with the build role's credentials endpoint in the environment,
the project's variables as the role sets them, and stand-ins for `aws` and `docker` on PATH that record
what each call saw: what the smoke container would get (its environment and mounts), whether the
registry login had happened by then, and what was pushed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLE = ROOT / "roles" / "image_pipeline"
SMOKE_ROLE_ARN = "arn:aws:iam::111122223333:role/hst-prod-image-smoke"
PROJECT_VARIABLES = {
    "REGISTRY": "111122223333.dkr.ecr.us-east-1.amazonaws.com",
    "SMOKE_BUCKET": "hst-prod-image-smoke-111122223333",
    "SMOKE_ROLE_ARN": SMOKE_ROLE_ARN,
}
# CodeBuild gives the build its role's credentials through this endpoint (and sets the region).
CODEBUILD_ENVIRONMENT = {
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/build-role",
    "AWS_DEFAULT_REGION": "us-east-1",
}

AWS_STUB = """
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({"tool": "aws", "args": args, "key": os.environ.get("AWS_ACCESS_KEY_ID")}) + "\\n")
build_role = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" in os.environ and "AWS_ACCESS_KEY_ID" not in os.environ
if args[:2] == ["sts", "assume-role"] and build_role:
    print("ASIASMOKE\\tsmoke-secret\\tsmoke-token")
elif args[:2] == ["ecr", "get-login-password"] and build_role:
    print("push-token")
elif args[:2] == ["s3", "cp"] and build_role and args[-2] == f"s3://{os.environ['SMOKE_BUCKET']}/{NOTICE_KEY}":
    open(args[-1], "w").write("the wheel")
else:
    sys.exit("AccessDenied: " + " ".join(args[:2]) + " as " + str(os.environ.get("AWS_ACCESS_KEY_ID")))
"""

DOCKER_STUB = """
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
config = Path(os.environ["HOME"]) / ".docker" / "config.json"
entry = {"tool": "docker", "args": args, "logged_in": config.exists()}
code = 0
if args[0] == "build":
    entry["context"] = sorted(os.listdir(args[-1]))
elif args[0] == "login":
    config.parent.mkdir(exist_ok=True)
    config.write_text(json.dumps({"auths": {args[-1]: sys.stdin.read().strip()}}))
elif args[0] == "run":
    env, mounts, i = {}, [], 1
    while args[i].startswith("-"):
        if args[i] in ("-e", "--env"):
            name, _, value = args[i + 1].partition("=")
            if value or name in os.environ:
                env[name] = value or os.environ[name]
            i += 2
        elif args[i] in ("-v", "--volume", "--env-file", "--mount"):
            mounts.append(args[i + 1])
            i += 2
        else:
            i += 1
    entry.update(container_env=env, mounts=mounts)
    code = int(os.environ.get("SMOKE_EXIT", "0"))
elif args[0] == "push" and not config.exists():
    code = 1
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
sys.exit(code)
"""


NOTICE_WHEEL = "sciplat_storage_notice-0.1.0-py3-none-any.whl"
NOTICE_SHA256 = "ab" * 32


def render_buildspec(lock_tag: str) -> dict[str, Any]:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["basename"] = os.path.basename  # Ansible's filter
    template = environment.from_string((ROLE / "templates" / "buildspec.yml.j2").read_text())
    text = template.render(
        image_pipeline__env={"name": "hst", "version": "2026.11"},
        image_pipeline_repository_prefix="sciplat-envs/",
        image_pipeline__lock_tag=lock_tag,
        image_pipeline__notice={
            "path": f"/kit/build/lab-extension/{NOTICE_WHEEL}",
            "checksum": NOTICE_SHA256,
        },
    )
    return yaml.safe_load(text)  # type: ignore[no-any-return]


def project_variable_names() -> list[str]:
    """The environment variables the role gives each CodeBuild project (tasks/main.yml)."""
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    block = next(task for task in tasks if "block" in task)["block"]
    project = next(task for task in block if "community.aws.codebuild_project" in task)
    variables = project["community.aws.codebuild_project"]["environment"]["environment_variables"]
    return [variable["name"] for variable in variables]


def run_build(tmp_path: Path, smoke_exit: int = 0, stale_lock: bool = False) -> list[dict[str, Any]]:
    """Run the rendered buildspec as CodeBuild would; every aws and docker call, in order."""
    source = tmp_path / "source"
    (source / "environments" / "hst" / "2026.11").mkdir(parents=True)
    lock = source / "environments" / "hst" / "2026.11" / "requirements.lock"
    lock.write_bytes((ROOT / "environments" / "hst" / "2026.11" / "requirements.lock").read_bytes())
    (source / "environments" / "fixtures.py").write_text("")
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    spec = render_buildspec(f"2026.11-{'0' * 12 if stale_lock else digest}")
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in (("aws", AWS_STUB), ("docker", DOCKER_STUB)):
        path = stubs / name
        path.write_text(
            f"#!{sys.executable}\nNOTICE_KEY = 'storage-notice/{NOTICE_SHA256}/{NOTICE_WHEEL}'\n{body}"
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "home").mkdir()
    log = tmp_path / "calls.jsonl"
    log.touch()
    assert sorted(project_variable_names()) == sorted(PROJECT_VARIABLES)
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "STUB_LOG": str(log),
        "SMOKE_EXIT": str(smoke_exit),
        **CODEBUILD_ENVIRONMENT,
        **PROJECT_VARIABLES,
        **{name: str(value) for name, value in spec["env"]["variables"].items()},
    }
    succeeding = True
    for phase in ("pre_build", "build", "post_build"):
        if phase == "build" and not succeeding:
            break
        env["CODEBUILD_BUILD_SUCCEEDING"] = "1" if succeeding else "0"
        for command in spec["phases"][phase]["commands"]:
            if subprocess.run(["/bin/sh", "-c", command], cwd=source, env=env, check=False).returncode:
                succeeding = False
                break
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_smoke_container_gets_the_smoke_session_only(tmp_path: Path) -> None:
    calls = run_build(tmp_path)
    [smoke] = [call for call in calls if call["tool"] == "docker" and call["args"][0] == "run"]
    assert smoke["container_env"] == {
        "AWS_ACCESS_KEY_ID": "ASIASMOKE",
        "AWS_SECRET_ACCESS_KEY": "smoke-secret",
        "AWS_SESSION_TOKEN": "smoke-token",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SMOKE_BUCKET": PROJECT_VARIABLES["SMOKE_BUCKET"],
        "KERNEL": "hst-2026.11",
    }
    assert smoke["mounts"] == [f"{tmp_path}/source/environments/fixtures.py:/tmp/fixtures.py:ro"]
    assert not smoke["logged_in"], "the registry login happened before the smoke notebooks ran"
    [assume] = [call for call in calls if call["args"][:2] == ["sts", "assume-role"]]
    assert assume["args"][assume["args"].index("--role-arn") + 1] == SMOKE_ROLE_ARN


def test_the_build_logs_in_and_pushes_only_after_the_smoke_step(tmp_path: Path) -> None:
    calls = run_build(tmp_path)
    docker = [call["args"][0] for call in calls if call["tool"] == "docker"]
    assert docker == ["build", "run", "login", "tag", "push", "push"]
    # The login is the build role's (the smoke session did not outlive its step).
    [login] = [call for call in calls if call["args"][:2] == ["ecr", "get-login-password"]]
    assert login["key"] is None
    config = json.loads((tmp_path / "home" / ".docker" / "config.json").read_text())
    assert config == {"auths": {PROJECT_VARIABLES["REGISTRY"]: "push-token"}}
    pushed = [call["args"][1] for call in calls if call["args"][0] == "push"]
    registry = PROJECT_VARIABLES["REGISTRY"]
    assert pushed[0] == f"{registry}/sciplat-envs/hst:2026.11"
    assert pushed[1].startswith(f"{registry}/sciplat-envs/hst:2026.11-")


def test_the_build_stages_the_storage_notice_wheel_into_its_context_first(tmp_path: Path) -> None:
    """Issue 21: the Dockerfile copies the wheel from the context; the build fetches the one the stage
    uploaded (tasks/main.yml), with the build role's credentials, before docker build."""
    calls = run_build(tmp_path)
    [fetch] = [call for call in calls if call["args"][:2] == ["s3", "cp"]]
    assert fetch["key"] is None, "the build role's credentials, not the smoke session's"
    [build] = [call for call in calls if call["tool"] == "docker" and call["args"][0] == "build"]
    assert calls.index(fetch) < calls.index(build)
    assert build["args"][-1] == "environments/hst/2026.11"
    assert build["context"] == ["requirements.lock", NOTICE_WHEEL]


def test_a_failed_smoke_notebook_means_no_login_and_no_push(tmp_path: Path) -> None:
    calls = run_build(tmp_path, smoke_exit=1)
    assert [call["args"][0] for call in calls if call["tool"] == "docker"] == ["build", "run"]
    assert not (tmp_path / "home" / ".docker").exists()
    assert not [call for call in calls if call["args"][:1] == ["ecr"]]


def test_a_lock_other_than_the_rendered_one_builds_nothing(tmp_path: Path) -> None:
    assert run_build(tmp_path, stale_lock=True) == []
