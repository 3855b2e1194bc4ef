# The stand-in chart's hub configuration (README.md): the values' reading (z2jh_standin.py), then this
# stand-in's networking, then hub.extraConfig in key order, as zero-to-jupyterhub runs it.
# ruff: noqa: F821  (JupyterHub gives the config file `c`)
import os
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
import z2jh_standin

values = yaml.safe_load(Path("/usr/local/etc/jupyterhub/secret/values.yaml").read_text())
hub_port = int(os.environ["SCIPLAT_HUB_PORT"])
z2jh_standin.configure(c, values, os.environ["HELM_RELEASE_NAME"], os.environ["POD_NAMESPACE"], hub_port)

# The hub's pod is on its node's network (there is no kube-proxy for Services): the hub starts the
# proxy beside it on this machine's loopback at proxy.service.nodePorts.http, and users' servers call
# the hub back at the node's address. The cookie secret, the crypt key and the proxy's token come
# from the Secret "hub" as environment variables (JPY_COOKIE_SECRET, JUPYTERHUB_CRYPT_KEY,
# CONFIGPROXY_AUTH_TOKEN), which JupyterHub reads by itself.
c.ConfigurableHTTPProxy.should_start = True
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub_port + 1}"
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['SCIPLAT_PUBLIC_PORT']}"
c.JupyterHub.hub_bind_url = f"http://0.0.0.0:{hub_port}"
c.JupyterHub.hub_connect_url = f"http://{os.environ['HOST_IP']}:{hub_port}"
c.JupyterHub.db_url = "sqlite:////srv/jupyterhub/jupyterhub.sqlite"

for _name, _code in sorted((values.get("hub", {}).get("extraConfig") or {}).items()):
    exec(compile(_code, f"hub.extraConfig.{_name}", "exec"))
