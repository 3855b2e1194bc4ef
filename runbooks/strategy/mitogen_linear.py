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
- **An EKS token kept while it has ten minutes left.** kubernetes.core reads the kubeconfig at every
  task, and the Kubernetes client runs its credential plugin at every read: `aws eks get-token`, about
  a second of CPU a task. kubectl (client-go) keeps the credential a plugin gives until it expires; in
  those two processes one is kept while at least ten minutes of it remain (`aws eks get-token` gives
  fourteen), so each task still starts with ten. The key is the plugin's command, arguments,
  environment and cluster: other credentials get a token of their own.
- **The installed collections listed once per run.** For a task's collection module mitogen lists every
  installed collection (importing each one's package, which parses its ``meta/runtime.yml``), in the
  task's worker process, and every task gets a fresh worker: with the ``ansible`` package's ninety
  collections that was about a tenth of a converge's controller CPU. The controller lists them once,
  before the workers fork, and every task reuses that list.

Every run here uses this plugin directory instead of mitogen's (``runbooks.ansible.strategy_env``);
the strategy is mitogen's own.
"""

import importlib.util
import os
import sys

import ansible.collections.list
import ansible_mitogen.affinity
import ansible_mitogen.planner
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
# Applied when a task first imports the Kubernetes client: importing it here would cost every run a second.
CREDENTIAL_SETUP = """
import datetime, json, sys
def _keep_credentials(provider, _kept={}):
    import kubernetes.config.dateutil
    run = provider.run
    def kept_run(self, previous_response=None):
        env = sorted((name, value) for name, value in self.env.items() if name != "KUBERNETES_EXEC_INFO")
        key = json.dumps([self.args, env, self.cwd, self.cluster and self.cluster.value], default=str)
        status = _kept.get(key)
        left = status and kubernetes.config.dateutil.parse_rfc3339(status["expirationTimestamp"]) - (
            datetime.datetime.now(datetime.timezone.utc)
        )
        if previous_response is not None or status is None or left < datetime.timedelta(minutes=10):
            status = run(self, previous_response)
            if "token" in status and "expirationTimestamp" in status:
                _kept[key] = status
        return dict(status)
    provider.run = kept_run
class _KeepCredentialsOnImport:
    def find_spec(self, name, path=None, target=None):
        if name != "kubernetes.config.exec_provider":
            return None
        for finder in sys.meta_path:
            find = finder is not self and getattr(finder, "find_spec", None)
            spec = find and find(name, path, target)
            if spec:
                exec_module = spec.loader.exec_module
                def exec_and_keep(module):
                    exec_module(module)
                    _keep_credentials(module.ExecProvider)
                spec.loader.exec_module = exec_and_keep
                return spec
        return None
sys.meta_path.insert(0, _KeepCredentialsOnImport())
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
    if on_this_python(spec):
        wanted = ((SDK_SETUP, "boto3"), (CREDENTIAL_SETUP, "kubernetes"))
        setup = "".join(code for code, package in wanted if importlib.util.find_spec(package))
        fork_parent = (result.get("init_child_result") or {}).get("fork_context")
        for context in (result.get("context"), fork_parent) if setup else ():
            if context is not None:
                # exec: the call's answer is None, where import_module's (a module) cannot be sent back.
                context.call(exec, setup, {})
    return result


ansible_mitogen.services.ContextService._connect = _connect_with_sdk

_collection_dirs: list[str] = []


def _list_collections() -> None:
    if not _collection_dirs:
        _collection_dirs.extend(path.decode() for path in ansible.collections.list.list_collection_dirs())


def _load_listed_collections(invocation) -> None:
    _list_collections()  # already done in the controller, unless a task runs outside a strategy's run
    invocation._extra_sys_paths.update(_collection_dirs)


ansible_mitogen.planner._load_collections = _load_listed_collections

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule as _MitogenLinear  # noqa: E402


class StrategyModule(_MitogenLinear):
    def run(self, iterator, play_context):
        _list_collections()  # in the controller: the task workers fork from it with the list
        return super().run(iterator, play_context)


__all__ = ["StrategyModule"]
