"""mitogen's linear strategy (``ANSIBLE_STRATEGY=mitogen_linear``) without its CPU pinning.

mitogen pins Ansible's processes to CPUs (``ansible_mitogen.affinity``), and every process a task
starts inherits the pin. On a 2-core machine that puts a whole run on one core: its workers, its
modules, and whatever its tasks start (an emulator, Kubernetes nodes, a machine), and runs side by side
all pile onto the same core while the other idles. Every run here uses this plugin directory instead
of mitogen's (``runbooks.ansible.strategy_env``); the strategy is mitogen's own, unpinned.
"""

import ansible_mitogen.affinity

# The base Policy assigns nothing: processes keep the CPUs they were started with.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: E402

__all__ = ["StrategyModule"]
