"""The storage-quota notification in JupyterLab, from inside the user's server.

JupyterLab asks its server once per page load whether to show an "update available" notification
(/lab/api/update, LabApp.check_for_updates_class). This class answers with the user's quota warning
instead, which the hub serves to the user's own server token (GET <hub API>/sciplat/quota). Nothing
to say (under the threshold, quotas off, the hub unreachable) = no notification. Standard library
and JupyterLab only.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request

from jupyterlab.handlers.announcements import CheckForUpdateABC


def _fetch_notice() -> dict:
    url = os.environ["JUPYTERHUB_API_URL"].rstrip("/") + "/sciplat/quota"
    token = os.environ["JUPYTERHUB_API_TOKEN"]
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


class QuotaNotice(CheckForUpdateABC):
    async def __call__(self):
        try:
            notice = await asyncio.get_running_loop().run_in_executor(None, _fetch_notice)
        except Exception as error:  # no notification rather than a broken page
            self.logger.debug("storage quota: no notice (%s)", error)
            return None
        return notice.get("message") or None
