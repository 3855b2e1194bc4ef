"""The collection's test and filter plugins import no AWS SDK.

To resolve one test or filter of a collection, Ansible imports every file of the collection's
``plugins/test`` (or ``plugins/filter``), in the worker of each task that uses one. boto3 imported there
(through a module_utils file that reads AWS) cost 0.13 s a task; the comparisons need none of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
COLLECTIONS_ROOT = Path(__file__).resolve().parents[6]
JINJA_PLUGINS = sorted(
    f"{kind}.{path.stem}" for kind in ("test", "filter") for path in (PLUGINS / kind).glob("*.py")
)

PROBE = """
import sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
import importlib
importlib.import_module("ansible_collections.sciplat.platform.plugins." + sys.argv[2])
heavy = sorted(name for name in ("boto3", "botocore") if name in sys.modules)
print(",".join(heavy))
"""


def test_every_plugin_is_found() -> None:
    assert "test.kms_key_is_current" in JINJA_PLUGINS
    assert "filter.known_after_apply" in JINJA_PLUGINS


@pytest.mark.parametrize("plugin", JINJA_PLUGINS)
def test_a_jinja_plugin_imports_no_aws_sdk(plugin: str) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(COLLECTIONS_ROOT), plugin],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "", f"{plugin} imports {probe.stdout.strip()}"
