"""External systems behind small drivers, picked by kind from the environment's policy.

Each backend is a class with `from_policy(policy)`; the registries map a policy's kind (the
`balancer` and `executor` fields) to its dotted path, imported when first used.
"""

from core.drivers import Registry
from deployments.choices import BalancerKind, ExecutorKind

BALANCERS = Registry(
    "load balancer",
    {
        BalancerKind.HAPROXY: "deployments.drivers.haproxy.HAProxyBalancer",
        BalancerKind.MANUAL: "deployments.drivers.manual.ManualBalancer",
    },
)

EXECUTORS = Registry(
    "deploy executor",
    {
        ExecutorKind.COMMAND: "deployments.drivers.executors.CommandExecutor",
        ExecutorKind.WEBHOOK: "deployments.drivers.executors.WebhookExecutor",
        ExecutorKind.NONE: "deployments.drivers.executors.NoExecutor",
    },
)


def balancer_for(policy):
    return BALANCERS.get(policy.balancer).from_policy(policy)


def executor_for(policy):
    return EXECUTORS.get(policy.executor).from_policy(policy)
