"""mitogen's linear strategy (``ANSIBLE_STRATEGY=mitogen_linear``), unpinned, with the AWS SDK loaded once.

- **No CPU pinning.** mitogen pins Ansible's processes to CPUs (``ansible_mitogen.affinity``), and
  every process a task starts inherits the pin. On a 2-core machine that puts a whole run on one core:
  its workers, its modules, and whatever its tasks start (an emulator, Kubernetes nodes, a machine),
  and runs side by side all pile onto the same core while the other idles.
- **boto3 and botocore imported once per run.** mitogen runs a module that has module_utils of its
  own (every amazon.aws and sciplat.platform module) in a process forked from a "fork parent" that
  has imported nothing, so each AWS task imported the SDK again: a few hundred milliseconds per task
  on a quiet machine, more than the task's own calls to AWS. The fork parent of a local connection on
  the controller's own Python now imports them once, and every task's process starts with them. Only
  there: on any other interpreter mitogen would ship the controller's copy over instead of failing.
  Nothing else is imported: mitogen keeps that parent free of Ansible's code on purpose.

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
    fork_parent = (result.get("init_child_result") or {}).get("fork_context")
    if fork_parent is not None and on_this_python(spec) and importlib.util.find_spec("boto3"):
        # exec: the call's answer is None, where import_module's (a module) cannot be sent back.
        fork_parent.call(exec, "import " + ", ".join(SDK_MODULES))
    return result


ansible_mitogen.services.ContextService._connect = _connect_with_sdk

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: E402

__all__ = ["StrategyModule"]
