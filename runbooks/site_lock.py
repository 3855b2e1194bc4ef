"""One lock per site, in the site's AWS account: two operators on two laptops cannot run
procedures or drills on the same site at once, and a converge (playbooks/site.yml) is refused while
one runs.

The lock is the SSM parameter ``/sciplat/<site>/lock``, created with ``PutParameter`` and
``Overwrite=False``: AWS creates it for exactly one caller and answers ``ParameterAlreadyExists`` to
every other, so taking it is one conditional write. Its value says who holds it (run id,
procedure, user, host, pid, since). It is deleted when the run ends, also when it fails or is
interrupted. A lock left by a process that is gone on this same host is taken over, with a note;
any other is refused, naming its holder; ``runbook lock --site SITE --release RUN_ID`` removes a
lock whose holder is known to be gone (on another machine).

A process holding the lock may take it again (a drill holds it and runs a procedure inside).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from runbooks import aws
from runbooks.engine import Refused, _pid_alive
from runbooks.site import Site


def parameter(site: Site) -> str:
    return f"/sciplat/{site.name}/lock"


def holder(site: Site) -> dict[str, Any] | None:
    """The lock's record, or None when nobody holds it."""
    ssm = aws.client(site, "ssm")
    try:
        value = ssm.get_parameter(Name=parameter(site))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    try:
        found = json.loads(value)
    except ValueError:
        found = {}
    return found if isinstance(found, dict) else {}


def describe(found: dict[str, Any] | None) -> str:
    if found is None:
        return "no lock: nothing is running on this site"
    return (
        f"{found.get('procedure', '?')} run {found.get('run_id', '?')} by {found.get('user', '?')} on "
        f"{found.get('host', '?')} (pid {found.get('pid', '?')}) since {found.get('since', '?')}"
    )


def _mine(found: dict[str, Any]) -> bool:
    return found.get("host") == socket.gethostname() and found.get("pid") == os.getpid()


def _gone(found: dict[str, Any]) -> bool:
    pid = found.get("pid")
    return found.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid)


@contextmanager
def hold(site: Site, procedure: str, run_id: str) -> Iterator[None]:
    """Hold the site's lock for the block; Refused naming the holder when someone else has it."""
    ssm = aws.client(site, "ssm")
    me = {
        "run_id": run_id,
        "procedure": procedure,
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for _ in range(2):
        try:
            ssm.put_parameter(
                Name=parameter(site),
                Value=json.dumps(me),
                Type="String",
                Overwrite=False,
                Description="Site lock: a runbook procedure or drill is running (runbooks/site_lock.py).",
            )
            break
        except ssm.exceptions.ParameterAlreadyExists:
            found = holder(site) or {}
            if _mine(found):  # taken again inside the same process (a drill's procedure)
                yield
                return
            if _gone(found):
                print(
                    f"runbook: taking over the site lock of {describe(found)}: that process is gone",
                    file=sys.stderr,
                )
                ssm.delete_parameter(Name=parameter(site))
                continue
            raise Refused(
                f"site {site.name} is locked: {describe(found)}. Wait for it to finish; if that run is "
                f"known to be gone, runbook lock --site {site.name} --release {found.get('run_id', 'RUN_ID')}"
            ) from None
    else:
        raise Refused(f"site {site.name}: could not take the site lock {parameter(site)}")
    try:
        yield
    finally:
        found = holder(site)
        if found and found.get("run_id") == run_id:
            ssm.delete_parameter(Name=parameter(site))


def release(site: Site, run_id: str) -> str:
    """Remove the lock if ``run_id`` holds it (the operator says that run is gone)."""
    found = holder(site)
    if found is None:
        return describe(None)
    if found.get("run_id") != run_id:
        raise Refused(f"site {site.name}'s lock is held by {describe(found)}, not by run {run_id}")
    aws.client(site, "ssm").delete_parameter(Name=parameter(site))
    return f"released the lock of {describe(found)}"
