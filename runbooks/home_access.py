"""How a runbook reaches the files on a site's home file system.

Restoring one user's home ends with file moves on the file system itself, which AWS APIs cannot do.
The inventory chooses how (``runbook_home_access``):

- ``local_path``: **local filesystem access**. The file system's data is a directory on the control
  node. The adapter asks ``<AWS endpoint>/_emulator/efs/<fs-id>`` where that directory is: this is
  the local site's data plane (the emulator's EFS directories) and nothing else uses this adapter.
- ``ssh_host`` and ``kubernetes_job`` (a host that mounts the file system; a pod with the home PVC)
  are the ways for a real site. They are not built yet: choosing one refuses the run and says so
  (docs/runbooks/restore-user-home.md lists this gap).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from runbooks.engine import Refused
from runbooks.site import Site

KINDS = ("local_path", "ssh_host", "kubernetes_job")


class LocalFilesystemAccess:
    """The file system is a local directory (the local site); found through the endpoint's data plane."""

    kind = "local_path"

    def __init__(self, site: Site) -> None:
        self.site = site

    def root(self, file_system_id: str) -> Path:
        endpoint = self.site.aws_environment.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise Refused(
                f"site {self.site.name}: runbook_home_access is local_path but the site has no "
                "AWS_ENDPOINT_URL in site_aws_environment to ask where the file system's data is"
            )
        url = f"{endpoint.rstrip('/')}/_emulator/efs/{file_system_id}"
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


def home_access(site: Site) -> LocalFilesystemAccess:
    kind = site.var("runbook_home_access")
    if kind == "local_path":
        return LocalFilesystemAccess(site)
    if kind in ("ssh_host", "kubernetes_job"):
        raise Refused(
            f"site {site.name}: runbook_home_access: {kind} is not implemented yet; the file moves of "
            "this procedure need local_path (see docs/runbooks/restore-user-home.md, gaps)"
        )
    raise Refused(
        f"site {site.name}: runbook_home_access must be one of {', '.join(KINDS)} "
        f"(set it in the inventory); it is {kind!r}"
    )


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
