"""mitogen's linear strategy (``ANSIBLE_STRATEGY=mitogen_linear``), unpinned, with the AWS SDK loaded once.

- **No CPU pinning.** mitogen pins Ansible's processes to CPUs (``ansible_mitogen.affinity``), and
  every process a task starts inherits the pin. On a 2-core machine that puts a whole run on one core:
  its workers, its modules, and whatever its tasks start (an emulator, Kubernetes nodes, a machine),
  and runs side by side all pile onto the same core while the other idles.
- **boto3 and botocore imported once per run.** mitogen runs a module whose module_utils come from
  a collection (every amazon.aws and sciplat.platform module) in the connection's own process, and
  forks one for a task that asks (``mitogen_task_isolation: fork``) from a "fork parent" that has
  imported nothing. On a local connection running the controller's own Python both import the SDK
  when the connection starts, so a forked task's process starts with it. Only there: on any other
  interpreter mitogen would ship the controller's copy over instead of failing. Nothing else is
  imported: mitogen keeps those processes free of Ansible's code on purpose.
- **The SDK's data parsed once per run.** Each botocore session makes its own loader, so every AWS
  task parsed the endpoints file (the same 1 MB for every client) and its service's models again: the
  largest CPU cost of a re-converge that changes nothing. In those two processes every session shares
  one loader per data path, which keeps what it parsed (botocore only reads it): a service's models
  are parsed at its first task of the run.

Every run here uses this plugin directory instead of mitogen's (``runbooks.ansible.strategy_env``);
the strategy is mitogen's own.
"""

import importlib.util
import os
import sys

import ansible_mitogen.affinity
import ansible_mitogen.services

# The base Policy assigns nothing: processes keep the CPUs they were started with.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

SDK_MODULES = ("boto3", "botocore.session", "botocore.client")
# Run in the connection's processes (mitogen ships no code of ours there): the SDK imported, and every
# botocore session of the process (and of those forked from it) sharing one loader per data path.
SDK_SETUP = f"""
import {", ".join(SDK_MODULES)}, botocore.loaders
class _SearchPaths(list):
    # boto3 appends its data directory to the loader of every session it makes: once is enough here.
    def append(self, path):
        if path not in self:
            super().append(path)
def _shared_loader(search_path_string=None, _loaders={{}}, _create=botocore.loaders.create_loader):
    if search_path_string not in _loaders:
        loader = _loaders[search_path_string] = _create(search_path_string)
        loader._search_paths = _SearchPaths(loader.search_paths)
    return _loaders[search_path_string]
botocore.session.create_loader = _shared_loader
"""
_connect = ansible_mitogen.services.ContextService._connect


def on_this_python(spec: dict) -> bool:
    """Whether mitogen's connection spec is a local one running the controller's own interpreter."""
    python = spec.get("kwargs", {}).get("python_path") or []
    if isinstance(python, str):
        python = [python]
    return (
        spec.get("method") == "local"
        and len(python) == 1
        and os.path.abspath(python[0]) == os.path.abspath(sys.executable)
    )


def _connect_with_sdk(self, key, spec, via=None):
    result = _connect(self, key, spec, via=via)
    if on_this_python(spec) and importlib.util.find_spec("boto3"):
        fork_parent = (result.get("init_child_result") or {}).get("fork_context")
        for context in (result.get("context"), fork_parent):
            if context is not None:
                # exec: the call's answer is None, where import_module's (a module) cannot be sent back.
                context.call(exec, SDK_SETUP, {})
    return result


ansible_mitogen.services.ContextService._connect = _connect_with_sdk

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: E402

__all__ = ["StrategyModule"]
