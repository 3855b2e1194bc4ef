"""Science environments: frozen locks install and run their smoke notebooks; images; promotion.

The smoke tests build each environment from its lock into a fresh venv (cached under
~/.cache/sciplat-kit by the lock's sha256) and run its notebooks with nbclient against the emulated
S3, which holds small FITS files written with the environment's own astropy. Freezing asks the
package index (PyPI), as the operator's command does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import nbformat
import pytest
from nbformat.v4 import new_code_cell

from emulator import environment_image
from emulator.launcher import Emulator
from environments import core
from environments.image import (
    pinned_storage_notice,
    render_dockerfile,
    storage_notice_wheel,
    unpinned_from_lines,
)

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "environments"
ENVIRONMENTS = [(name, version) for name in core.names() for version in core.versions(name)]
HADOLINT = Path(sys.executable).parent / "hadolint"


def tool(
    *args: str, env: dict[str, str] | None = None, tree: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    if tree is not None:
        environment["SCIPLAT_ENVIRONMENTS_DIR"] = str(tree)
    return subprocess.run(
        [sys.executable, "-m", "environments", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def client(service: str, aws_env: dict[str, str]) -> object:
    return boto3.client(
        service,
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the environments' data (specs, locks, notebooks) the test may change."""
    copy = tmp_path / "environments"
    for name, version in ENVIRONMENTS:
        shutil.copytree(TREE / name / version, copy / name / version)
    return copy


@pytest.fixture
def aws_env(site_emulator: Emulator) -> dict[str, str]:
    return {**site_emulator.client_env(), "AWS_DEFAULT_REGION": "us-east-1"}


# --- the frozen files ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "version"), ENVIRONMENTS)
def test_every_package_in_the_lock_is_pinned_with_a_hash(name: str, version: str) -> None:
    lock = (TREE / name / version / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 3)[3].strip())
    assert len(entries) > 10
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+ \\", entry), entry
        assert "--hash=sha256:" in entry, entry
    uv_pin = next(
        line for line in (REPO / "requirements.lock").read_text().splitlines() if line.startswith("uv==")
    )
    assert f"uv {uv_pin.removeprefix('uv==')}" in lock.splitlines()[1], (
        "the lock names the tool that froze it"
    )


@pytest.mark.parametrize(("name", "version"), ENVIRONMENTS)
def test_committed_dockerfile_is_the_rendered_one_and_passes_hadolint(name: str, version: str) -> None:
    checked = tool("dockerfile", name, version, "--check")
    assert checked.returncode == 0, checked.stderr
    dockerfile = TREE / name / version / "Dockerfile"
    linted = subprocess.run([str(HADOLINT), str(dockerfile)], capture_output=True, text=True, check=False)
    assert linted.returncode == 0, linted.stdout
    text = dockerfile.read_text()
    assert re.search(r"^FROM quay\.io/jupyter/base-notebook:[0-9a-f]{12}@sha256:[0-9a-f]{64}$", text, re.M)
    assert unpinned_from_lines(text) == []
    assert "--require-hashes" in text
    assert re.findall(r"^USER (\S+)$", text, re.M)[-1] == "1000"


def test_a_from_line_without_a_digest_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Base images are pinned by digest (issue 17): a FROM by tag alone is found, the lint gate
    (`dockerfile --check`) refuses a committed one naming it, and a spec whose base image has no digest
    in environments.image renders no Dockerfile."""
    digest = "sha256:" + "ab" * 32
    dockerfile = f"FROM a/b:1@{digest}\nFROM c/d:2 AS build\nfrom e/f@sha256:abc\nFROM g/h:3@{digest} AS x\n"
    assert unpinned_from_lines(dockerfile) == ["FROM c/d:2 AS build", "from e/f@sha256:abc"]
    shutil.copytree(TREE / "hst" / "2026.11", tmp_path / "hst" / "2026.11")
    committed = tmp_path / "hst" / "2026.11" / "Dockerfile"
    committed.write_text(re.sub(r"@sha256:[0-9a-f]{64}", "", committed.read_text()))
    checked = tool("dockerfile", "hst", "2026.11", "--check", tree=tmp_path)
    assert checked.returncode != 0
    assert "FROM without a sha256 digest: FROM quay.io/jupyter/base-notebook:615b8cc01b33" in checked.stderr
    monkeypatch.setattr("environments.image.BASE_IMAGE_DIGESTS", {})
    with pytest.raises(core.EnvError, match=r"base image for Python 3\.11 .* has no digest"):
        render_dockerfile(core.get("hst", "2026.11"))


def test_the_dockerfile_installs_the_storage_notice_the_kit_built_into_the_servers_environment() -> None:
    """Issue 21: the JupyterLab notice in every image, in /opt/conda (where jupyter-server runs), exactly
    the wheel `make lab-extension` built (its sha256), offline and without resolving dependencies."""
    wheel = REPO / "build" / "lab-extension" / "sciplat_storage_notice-0.1.0-py3-none-any.whl"
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    text = render_dockerfile(core.get("hst", "2026.11"))
    stage = "/tmp/sciplat-storage-notice"
    assert f"\nCOPY --chown=${{NB_UID}}:${{NB_GID}} {wheel.name} {stage}/\n" in text
    assert f'RUN echo "{stage}/{wheel.name} --hash=sha256:{sha256}" > {stage}/lock' in text
    install = "/opt/conda/bin/python -m pip install --no-cache-dir --no-deps --no-index --require-hashes"
    assert re.search(rf"&& {re.escape(install)} \\\n\s+-r {stage}/lock \\\n\s+&& rm -r {stage}\n", text)
    assert pinned_storage_notice(text) == sha256
    # Its dependencies are the servers' own (jupyter_server and tornado in the base image): none to resolve.
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("sciplat_storage_notice-0.1.0.dist-info/METADATA").decode()
    assert re.findall(r"^Requires-Dist: (.*)$", metadata, re.M) == ["jupyter-server>=2", "tornado>=6"]


def test_the_storage_notice_wheel_is_the_same_when_built_under_another_cache(tmp_path: Path) -> None:
    """The Dockerfiles pin the wheel's sha256, so the same sources must give the same wheel wherever the
    cache (and with it the build venv) is: a second, complete build in another cache directory (only the
    pip and npm download caches shared, to stay offline) gives the wheel `make lab-extension` built."""
    built = REPO / "build" / "lab-extension" / "sciplat_storage_notice-0.1.0-py3-none-any.whl"
    cache = core.CACHE_DIR  # where `make lab-extension` downloaded
    other = tmp_path / "cache"
    other.mkdir()
    for downloads in ("pip", "npm"):
        (other / downloads).symlink_to(cache / downloads)
    result = subprocess.run(
        [sys.executable, REPO / "lab_extension" / "build.py", "--cache", other, "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rebuilt = tmp_path / "out" / built.name
    assert result.stdout.strip().endswith(str(rebuilt))
    assert list((other / "lab-extension").glob("venv-*/.complete")), "the build made its own venv"
    assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() == hashlib.sha256(built.read_bytes()).hexdigest()


def test_a_missing_or_other_storage_notice_wheel_is_refused_naming_make_lab_extension(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = core.get("hst", "2026.11")
    monkeypatch.setattr("environments.image.STORAGE_NOTICE_DIR", tmp_path)
    missing = (
        rf"storage notice.s wheel .* from {tmp_path}, which holds none: build it with `make lab-extension`"
    )
    with pytest.raises(core.EnvError, match=missing):
        render_dockerfile(env)
    with pytest.raises(core.EnvError, match=missing):
        environment_image.layers(env)
    other = tmp_path / "sciplat_storage_notice-0.1.0-py3-none-any.whl"
    other.write_bytes(b"not the wheel the Dockerfile pins")
    with pytest.raises(core.EnvError) as refused:
        environment_image.layers(env)
    pinned = pinned_storage_notice((env.path / "Dockerfile").read_text())
    assert f"{other} has sha256 {hashlib.sha256(other.read_bytes()).hexdigest()}" in str(refused.value)
    assert (
        f"the Dockerfile pins {pinned}: build the wheel the Dockerfile names with `make lab-extension`"
        in str(refused.value)
    )
    (tmp_path / "sciplat_storage_notice-0.2.0-py3-none-any.whl").touch()
    with pytest.raises(core.EnvError, match=r"which holds 2 \(sciplat_storage_notice-0\.1\.0-py3.*0\.2\.0"):
        storage_notice_wheel()


def test_the_demo_image_installs_the_demo_environment_and_the_roles_copy_is_equal() -> None:
    """One list for the demo image: the inventories, the Makefile's wheels and the role's Molecule scenario
    name the same demo version's lock, and demo_host's bundled files/requirements.txt is a byte copy of it."""
    demo_env = re.search(r"^DEMO_ENV := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert demo_env, "the Makefile names the demo environment (DEMO_ENV)"
    lock = REPO / demo_env.group(1) / "requirements.lock"
    assert lock.parent.parent == TREE / "demo" and lock.is_file()
    wanted = f"environments/demo/{lock.parent.name}/requirements.lock"
    for where in (
        "inventories/local/group_vars/all/demo.yml",
        "inventories/example/group_vars/all/demo.yml",
        "roles/demo_host/molecule/default/converge.yml",
        "roles/demo_host/molecule/default/wheelhouse.yml",
    ):
        named = re.findall(r"environments/demo/[^/]+/requirements\.lock", (REPO / where).read_text())
        assert named and set(named) == {wanted}, f"{where} names {named}, not {wanted}"
    copy = REPO / "roles/demo_host/files/requirements.txt"
    assert copy.read_bytes() == lock.read_bytes(), f"{copy} differs from {lock}: run `make demo-lock`"


def test_hadolint_refuses_an_unpinned_root_image(tmp_path: Path) -> None:
    """The lint gate can fail: a floating base image run as root does not pass."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM quay.io/jupyter/base-notebook:latest\nUSER root\nRUN pip install astropy\n")
    linted = subprocess.run([str(HADOLINT), str(bad)], capture_output=True, text=True, check=False)
    assert linted.returncode != 0
    assert "DL3007" in linted.stdout and "DL3002" in linted.stdout


# --- freezing and comparing -----------------------------------------------------------------------


def test_diff_names_added_removed_and_upgraded_packages() -> None:
    change = core.diff_pins(
        {"astropy": "7.0.0", "numpy": "2.4.6", "fbpca": "1.0"},
        {"astropy": "8.0.2", "numpy": "2.4.6", "pyvo": "1.9.1"},
    )
    assert change.added == {"pyvo": "1.9.1"}
    assert change.removed == {"fbpca": "1.0"}
    assert change.upgraded == {"astropy": ("7.0.0", "8.0.2")}
    text = change.render("hst 2026.10", "hst 2026.11")
    assert "+ pyvo 1.9.1 (added)" in text and "- fbpca 1.0 (removed)" in text
    assert "^ astropy 7.0.0 -> 8.0.2 (upgraded)" in text and "numpy" not in text


def test_freeze_from_a_version_writes_a_new_one_and_shows_what_changed(tree: Path) -> None:
    result = tool(
        "freeze", "hst", "--from", "2026.11", "--version", "2026.12", "--remove", "photutils", tree=tree
    )
    assert result.returncode == 0, result.stderr
    assert "hst 2026.11 -> hst 2026.12:" in result.stdout
    assert "- photutils " in result.stdout
    new = tree / "hst" / "2026.12"
    assert "photutils" not in (new / "spec.yml").read_text()
    assert not re.search(r"^photutils==", (new / "requirements.lock").read_text(), re.M)
    assert (new / "notebooks" / "hst_smoke.ipynb").exists() and (new / "Dockerfile").exists()
    diff = tool("diff", "hst", "2026.12", tree=tree)
    assert diff.returncode == 0 and "- photutils " in diff.stdout
    listing = tool("list", tree=tree)
    assert "2026.12" in listing.stdout


# --- bad input: a clear message naming it, nothing changed ---------------------------------------------


def test_a_package_that_is_not_on_the_index_is_named_and_nothing_is_written(tree: Path) -> None:
    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    missing = "sciplat-no-such-package-7f3c9a"
    result = tool("freeze", "hst", "--from", "2026.11", "--version", "2026.12", "--add", missing, tree=tree)
    assert result.returncode == 2
    assert f"package '{missing}' does not exist on the package index" in result.stderr
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before


@pytest.mark.parametrize("version", ["2026.13", "latest", "26.11", "2026.11-rc1"])
def test_a_version_that_is_not_one_is_refused_and_nothing_is_written(tree: Path, version: str) -> None:
    before = sorted(p.relative_to(tree) for p in tree.rglob("*"))
    result = tool("freeze", "hst", "--from", "2026.11", "--version", version, tree=tree)
    assert result.returncode == 2
    assert f"version '{version}' is not a version" in result.stderr
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == before


# --- promotion --------------------------------------------------------------------------------------------


def _push(ecr: object, repository: str, tags: list[str], layer: str) -> str:
    """What the build's docker push leaves in ECR: one manifest under several tags."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7,
                "digest": layer,
            },
            "layers": [],
        }
    )
    digest = ""
    for tag in tags:
        digest = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"][  # type: ignore[attr-defined]
            "imageId"
        ]["imageDigest"]
    return digest


def _tags(ecr: object, repository: str) -> dict[str, str]:
    images = ecr.describe_images(repositoryName=repository)["imageDetails"]  # type: ignore[attr-defined]
    return {tag: image["imageDigest"] for image in images for tag in image.get("imageTags", [])}


def test_promotion_retags_the_tested_image_and_never_rebuilds(aws_env: dict[str, str]) -> None:
    ecr = client("ecr", aws_env)
    prefix = "promote-test/"
    repository = f"{prefix}hst"
    ecr.create_repository(repositoryName=repository)
    lock_tag = f"2026.11-{core.get('hst', '2026.11').lock().short_digest}"
    built = _push(ecr, repository, ["2026.11", lock_tag], "sha256:" + "1" * 64)

    checked = tool(
        "promote", "hst", "2026.11", "--to", "stable", "--repository-prefix", prefix, "--check", env=aws_env
    )
    assert checked.returncode == 0 and "would retag" in checked.stdout
    assert "stable" not in _tags(ecr, repository)

    promoted = tool("promote", "hst", "2026.11", "--to", "stable", "--repository-prefix", prefix, env=aws_env)
    assert promoted.returncode == 0, promoted.stderr
    tags = _tags(ecr, repository)
    assert tags["stable"] == tags[lock_tag] == built
    assert len(set(tags.values())) == 1, "promotion made no new image"

    again = tool("promote", "hst", "2026.11", "--to", "stable", "--repository-prefix", prefix, env=aws_env)
    assert again.returncode == 0 and "no change" in again.stdout


def test_promoting_a_version_that_was_never_built_is_refused_and_nothing_changes(
    aws_env: dict[str, str],
) -> None:
    ecr = client("ecr", aws_env)
    prefix = "never-built/"
    repository = f"{prefix}tess"
    ecr.create_repository(repositoryName=repository)
    other = _push(ecr, repository, ["2026.10", "stable"], "sha256:" + "2" * 64)

    result = tool("promote", "tess", "2026.11", "--to", "stable", "--repository-prefix", prefix, env=aws_env)
    assert result.returncode == 2
    assert "tess 2026.11 was never built" in result.stderr and "nothing changed" in result.stderr
    assert _tags(ecr, repository) == {"2026.10": other, "stable": other}

    absent = tool("promote", "tess", "2026.11", "--repository-prefix", "no-such-prefix/", env=aws_env)
    assert absent.returncode == 2 and "does not exist" in absent.stderr

    unknown = tool("promote", "tess", "2031.1", "--repository-prefix", prefix, env=aws_env)
    assert unknown.returncode == 2 and "no version 2031.1" in unknown.stderr


# --- building from the lock and running the smoke notebooks -----------------------------------------------


@pytest.fixture
def smoke_env(aws_env: dict[str, str]) -> Iterator[dict[str, str]]:
    yield aws_env


def test_every_environment_installs_from_its_lock_and_passes_its_smoke_notebooks(
    smoke_env: dict[str, str],
) -> None:
    result = tool("test", env=smoke_env)
    assert result.returncode == 0, result.stderr
    for name, version in ENVIRONMENTS:
        assert f"{name} {version}: " in result.stdout and "passed" in result.stdout
    s3 = client("s3", smoke_env)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="stpubdata", Prefix="hst/public/")["Contents"]]
    assert keys and all(key.endswith(".fits") for key in keys)


def test_seed_writes_the_public_data_files_the_notebooks_read(smoke_env: dict[str, str]) -> None:
    result = tool("seed", "hst", "2026.11", env=smoke_env)
    assert result.returncode == 0, result.stderr
    urls = result.stdout.split()
    assert "s3://stpubdata/hst/public/j8pu/j8pu0y010/j8pu0y010_drz.fits" in urls, result.stdout
    s3 = client("s3", smoke_env)
    for url in urls:
        body = s3.get_object(Bucket="stpubdata", Key=url.removeprefix("s3://stpubdata/"))["Body"].read()
        assert body.startswith(b"SIMPLE  =") and len(body) % 2880 == 0  # a FITS file: 2880-byte blocks


def test_a_failing_notebook_fails_the_build_naming_the_cell(tree: Path, smoke_env: dict[str, str]) -> None:
    notebook = tree / "tess" / "2026.11" / "notebooks" / "zz_broken.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[new_code_cell("x = 1"), new_code_cell("assert x == 2, 'deliberately'")]
    )
    nbformat.write(nb, notebook)
    result = tool("test", "tess", "2026.11", env=smoke_env, tree=tree)
    assert result.returncode == 2
    assert "notebook zz_broken.ipynb cell 2 (" in result.stderr and "assert x == 2" in result.stderr
    assert "AssertionError: deliberately" in result.stderr


def test_a_lock_that_no_longer_installs_fails_naming_the_package(tree: Path) -> None:
    lock = tree / "tess" / "2026.11" / "requirements.lock"
    text = lock.read_text()
    # Every hash of pyerfa is replaced: the wheel the index serves no longer matches the lock.
    lock_without_any_good_hash = re.sub(
        r"(\npyerfa==[^\n]*\n(?:\s+--hash=sha256:[0-9a-f]{64}[^\n]*\n)+)",
        lambda m: re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, m.group(1)),
        text,
    )
    assert lock_without_any_good_hash != text
    lock.write_text(lock_without_any_good_hash)
    result = tool("build", "tess", "2026.11", tree=tree)
    assert result.returncode == 2
    assert "tess 2026.11: the lock no longer installs: pyerfa" in result.stderr


# --- messages, without the index --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            "  x No solution found when resolving dependencies:\n  Because nosuchpkg was not found in the "
            "package registry and you require nosuchpkg, your requirements are unsatisfiable.",
            "package 'nosuchpkg' does not exist on the package index",
        ),
        (
            "  Because fbpca==1.0 has no usable wheels and lightkurve>=1.9.0 depends on fbpca==1.0, ...",
            "package 'fbpca' has no wheel for this platform",
        ),
        (
            "  Because there is no version of astropy>=99 and you require astropy>=99, ...",
            "no release of package 'astropy' matches the constraint in the spec",
        ),
    ],
)
def test_resolver_failures_are_explained_with_the_package_named(stderr: str, expected: str) -> None:
    assert core.explain_compile_error(stderr).startswith(expected)


@pytest.mark.parametrize(
    ("packages", "words"),
    [
        (["astropy", "numpy"], "must include ipykernel"),
        (["astropy", "Astropy>=6", "ipykernel"], "'Astropy' is listed twice"),
        (["astropy>>6", "ipykernel"], "'astropy>>6' is not a requirement"),
        ([], "packages is empty"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_package(tmp_path: Path, packages: list[str], words: str) -> None:
    spec = core.Spec(name="hst", version="2026.12", description="x", python="3.11", packages=packages)
    with pytest.raises(core.EnvError, match=re.escape(words)):
        spec.validate(tmp_path / "spec.yml")
