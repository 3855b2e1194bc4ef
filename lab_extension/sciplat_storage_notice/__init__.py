"""The storage notice in the user's Jupyter server: the JupyterLab extension's paths, and the server
extension that answers GET <base url>/sciplat/storage-notice with the user's storage state.

The server asks the hub (GET <JUPYTERHUB_API_URL>/sciplat/quota, the hub side is the jupyterhub
role's sciplat_quota.py) with its own token, so each user sees only their own figures. Outside a
hub, or when the hub does not answer, the answer is {"level": "unknown"}: no notification.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": "labextension", "dest": "sciplat-storage-notice"}]


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "sciplat_storage_notice"}]


def fetch_notice(timeout: float = 5) -> dict:
    """The hub's answer for this server's user; {"level": "unknown"} outside a hub."""
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if not api_url or not token:
        return {"level": "unknown"}
    request = urllib.request.Request(
        api_url.rstrip("/") + "/sciplat/quota", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def _load_jupyter_server_extension(server_app) -> None:
    from jupyter_server.base.handlers import APIHandler
    from jupyter_server.utils import url_path_join
    from tornado import web

    class StorageNoticeHandler(APIHandler):
        @web.authenticated
        async def get(self) -> None:
            try:
                notice = await asyncio.get_running_loop().run_in_executor(None, fetch_notice)
            except Exception as error:  # the hub unreachable: no notification, not a broken page
                self.log.debug("storage notice: none (%s)", error)
                notice = {"level": "unknown"}
            self.set_header("Cache-Control", "no-store")
            self.finish(json.dumps(notice))

    web_app = server_app.web_app
    route = url_path_join(web_app.settings["base_url"], "sciplat/storage-notice")
    web_app.add_handlers(".*$", [(route, StorageNoticeHandler)])
    server_app.log.info("sciplat_storage_notice: %s", route)
