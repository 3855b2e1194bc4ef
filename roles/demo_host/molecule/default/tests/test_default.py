"""demo_host on a real systemd host: the service, its port and token, the manifest, the MOTD, and the three
notebooks executed top to bottom (nbclient, as the service account) against an S3 endpoint holding a FITS file
this test writes with astropy."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
MACHINE = EPHEMERAL / "machines" / "demo-host"
ENDPOINT = (EPHEMERAL / "emulator" / "endpoint").read_text().strip()
PORTS = json.loads((MACHINE / "config.json").read_text())["ports"]
PORT = PORTS["jupyter"]
# The machine's SSH settings as an ssh_config (testinfra reads the inventory's variables untemplated).
SSH_CONFIG = EPHEMERAL / "demo-host.ssh_config"
SSH_CONFIG.write_text(
    f"Host demo-host\n  HostName 127.0.0.1\n  Port {PORTS['ssh']}\n  User root\n"
    f"  IdentityFile {MACHINE / 'id_ed25519'}\n  UserKnownHostsFile {MACHINE / 'known_hosts'}\n"
    "  StrictHostKeyChecking yes\n"
)
testinfra_hosts = [f"ssh://demo-host?ssh_config={SSH_CONFIG}"]
# The lock converge.yml installs: the demo environment's, with hashes (files/requirements.txt is a copy).
LOCK = Path(__file__).resolve().parents[5] / "environments" / "demo" / "2026.11" / "requirements.lock"
VENV_PYTHON = "/opt/sciplat-demo/venv/bin/python"
NOTEBOOKS = "/home/sciplat-demo/notebooks"
KEY = "hst/public/j8pu/j8pu0y010/j8pu0y010_drc.fits"
S3_ENV = f"AWS_ENDPOINT_URL={ENDPOINT} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"

# Runs on the host with the demo's own astropy and boto3: a small drizzled-image lookalike (a primary
# header, a SCI extension with a celestial WCS and a few sources), published like the real bucket (anyone
# may read), and a private requester-pays bucket holding the same file.
WRITE_FITS = r"""
import io, json, sys
import boto3, numpy as np
from astropy.io import fits

s3 = boto3.client("s3", region_name="us-east-1")
y, x = np.mgrid[0:128, 0:128]
image = np.random.default_rng(5).normal(2.0, 0.5, (128, 128))
for cx, cy, flux, width in [(40, 70, 400, 3), (90, 30, 150, 2), (75, 95, 60, 6), (20, 20, 90, 2)]:
    image += flux * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
primary = fits.PrimaryHDU()
primary.header.update(TELESCOP="HST", INSTRUME="ACS", DETECTOR="WFC", TARGNAME="DEMO-FIELD", PROPOSID=9999)
sci = fits.ImageHDU(image.astype("float32"), name="SCI")
sci.header.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=150.1165, CRVAL2=2.2058, CRPIX1=64.0,
                  CRPIX2=64.0, CD1_1=-1.39e-5, CD1_2=0.0, CD2_1=0.0, CD2_2=1.39e-5, BUNIT="ELECTRONS/S")
body = io.BytesIO()
fits.HDUList([primary, sci]).writeto(body)
key = sys.argv[1]
s3.create_bucket(Bucket="stpubdata")
s3.put_bucket_policy(Bucket="stpubdata", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
    "Resource": ["arn:aws:s3:::stpubdata", "arn:aws:s3:::stpubdata/*"]}]}))
s3.put_object(Bucket="stpubdata", Key=key, Body=body.getvalue(), ACL="public-read")
s3.create_bucket(Bucket="stpubdata-paid")
s3.put_bucket_request_payment(Bucket="stpubdata-paid", RequestPaymentConfiguration={"Payer": "Requester"})
s3.put_object(Bucket="stpubdata-paid", Key=key, Body=body.getvalue())
print(len(body.getvalue()))
"""

RUN_NOTEBOOK = r"""
import sys
import nbformat
from nbclient import NotebookClient

notebook = nbformat.read(sys.argv[1], as_version=4)
client = NotebookClient(notebook, timeout=180, resources={"metadata": {"path": "/tmp"}})
client.execute()
nbformat.write(notebook, sys.argv[2])
"""

# The HTTP status of GET argv[1] with the Authorization header argv[2].
HTTP_STATUS = r"""
import sys
import urllib.error
import urllib.request

try:
    request = urllib.request.Request(sys.argv[1], headers={"Authorization": sys.argv[2]})
    print(urllib.request.urlopen(request).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def test_jupyterlab_runs_enabled_on_localhost_only(host: Any) -> None:
    service = host.service("sciplat-jupyterlab")
    assert service.is_running
    assert service.is_enabled
    assert host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening
    assert host.process.get(user="sciplat-demo", comm="jupyter-lab") is not None


def test_jupyterlab_answers_with_the_token_and_refuses_without(host: Any) -> None:
    token = host.file("/etc/sciplat/jupyter-token")
    assert token.mode == 0o640
    assert token.user == "root"
    assert token.group == "sciplat-demo"
    secret = host.check_output("cat /etc/sciplat/jupyter-token")
    assert len(secret) >= 32
    url = f"http://127.0.0.1:{PORT}/api/status"
    with_token = host.run(f"{VENV_PYTHON} -c {shlex.quote(HTTP_STATUS)} {url} 'token {secret}'")
    without = host.run(f"{VENV_PYTHON} -c {shlex.quote(HTTP_STATUS)} {url} 'token wrong'")
    assert with_token.stdout.strip() == "200"
    assert without.stdout.strip() == "403"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def test_manifest_records_the_installed_pinned_versions(host: Any) -> None:
    manifest = json.loads(host.file("/etc/sciplat/demo-manifest.json").content_string)
    assert manifest["role"] == "demo_host"
    assert manifest["role_version"]
    assert manifest["date"].endswith("Z")
    pin = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
    canonical = {_canonical(name): version for name, version in pin.findall(LOCK.read_text())}
    installed = {_canonical(name): version for name, version in manifest["packages"].items()}
    assert len(canonical) > 100
    # Every pinned package is installed at its pinned version, and the manifest records it.
    assert {name: installed.get(name) for name in canonical} == canonical
    for name in ("astropy", "astroquery", "boto3", "s3fs", "matplotlib", "numpy", "jupyterlab"):
        assert manifest["packages"][name] == canonical[name], name
    frozen = host.check_output(f"{VENV_PYTHON} -m pip show astropy")
    assert f"Version: {canonical['astropy']}" in frozen


def test_motd_says_how_to_reach_jupyterlab(host: Any) -> None:
    motd = host.file("/etc/motd").content_string
    assert f"ssh -N -L {PORT}:127.0.0.1:{PORT} root@" in motd
    assert "sudo cat /etc/sciplat/jupyter-token" in motd
    assert f"http://127.0.0.1:{PORT}/lab?token=" in motd
    assert "01-read-fits-from-s3" in motd and "03-program-listing" in motd


def test_config_names_the_bucket_not_an_endpoint(host: Any) -> None:
    env = host.file("/etc/sciplat/demo.env").content_string
    assert "DEMO_BUCKET=stpubdata\n" in env
    assert "DEMO_PREFIX=hst/public/\n" in env
    assert "AWS_ENDPOINT_URL" not in env


@pytest.fixture(scope="module")
def published(host: Any) -> str:
    script = "/tmp/write_fits.py"
    host.run(f"cat > {script} <<'EOF'\n{WRITE_FITS}\nEOF")
    written = host.run(f"env {S3_ENV} {VENV_PYTHON} {script} {KEY}")
    assert written.rc == 0, written.stderr
    return written.stdout.strip()


def execute(host: Any, name: str, extra_env: str = "") -> dict[str, Any]:
    """Run one notebook top to bottom as the service account; answer the executed notebook."""
    host.run(f"cat > /tmp/run_notebook.py <<'EOF'\n{RUN_NOTEBOOK}\nEOF")
    out = f"/tmp/executed-{name}"
    command = (
        f"runuser -u sciplat-demo -- env HOME=/home/sciplat-demo {S3_ENV} DEMO_MAST_QUERY=false {extra_env} "
        f"{VENV_PYTHON} /tmp/run_notebook.py {shlex.quote(NOTEBOOKS + '/' + name)} {out}"
    )
    ran = host.run(command)
    assert ran.rc == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
    return json.loads(host.file(out).content_string)


def text_of(notebook: dict[str, Any]) -> str:
    return "".join(
        "".join(output.get("text", ""))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
    )


def test_notebook_1_lists_and_reads_the_file_anonymously(host: Any, published: str) -> None:
    notebook = execute(host, "01-read-fits-from-s3.ipynb")
    text = text_of(notebook)
    assert f"{int(published):>13,d} bytes  s3://stpubdata/{KEY}" in text
    assert "SCI" in text and "(128, 128)" in text
    assert "RequestPayer=requester" not in text


def test_notebook_2_shows_the_header_and_plots_the_image(host: Any, published: str) -> None:
    notebook = execute(host, "02-image-header-plot.ipynb")
    text = text_of(notebook)
    assert "TARGNAME= 'DEMO-FIELD'" in text
    assert "128 x 128 pixels" in text
    plots = [
        output["data"]["image/png"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
        if "image/png" in output.get("data", {})
    ]
    assert len(plots) == 1
    png = base64.b64decode(plots[0])
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    (EPHEMERAL / "notebook-plot.png").write_bytes(png)  # for docs/demo-ami.md


def test_notebook_3_lists_the_program_and_skips_mast_offline(host: Any, published: str) -> None:
    text = text_of(execute(host, "03-program-listing.ipynb"))
    assert "1 datasets under s3://stpubdata/hst/public/j8pu/" in text
    assert "hst/public/j8pu/j8pu0y010/" in text
    assert "DEMO_MAST_QUERY is false" in text


def test_refused_anonymous_read_falls_back_to_requester_pays_and_says_the_cost(
    host: Any, published: str
) -> None:
    text = text_of(
        execute(host, "01-read-fits-from-s3.ipynb", "DEMO_BUCKET=stpubdata-paid DEMO_REQUESTER_PAYS=true")
    )
    assert "RequestPayer=requester" in text
    assert "per GB" in text
    assert f"Read s3://stpubdata-paid/{KEY}" in text


def test_refused_anonymous_read_fails_without_requester_pays(host: Any, published: str) -> None:
    host.run(f"cat > /tmp/run_notebook.py <<'EOF'\n{RUN_NOTEBOOK}\nEOF")
    ran = host.run(
        f"runuser -u sciplat-demo -- env HOME=/home/sciplat-demo {S3_ENV} DEMO_BUCKET=stpubdata-paid "
        f"{VENV_PYTHON} /tmp/run_notebook.py {NOTEBOOKS}/01-read-fits-from-s3.ipynb /tmp/refused.ipynb"
    )
    assert ran.rc != 0
    assert "403" in ran.stdout + ran.stderr or "Forbidden" in ran.stdout + ran.stderr
