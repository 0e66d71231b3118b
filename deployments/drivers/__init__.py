"""External systems behind small drivers, picked by the environment's policy."""

from deployments.choices import BalancerKind, ExecutorKind


def balancer_for(policy):
    if policy.balancer == BalancerKind.HAPROXY:
        from deployments.drivers.haproxy import HAProxyBalancer

        return HAProxyBalancer(policy.balancer_socket, policy.balancer_backend)
    from deployments.drivers.manual import ManualBalancer

    return ManualBalancer()


def executor_for(policy):
    from deployments.drivers import executors

    if policy.executor == ExecutorKind.COMMAND:
        return executors.CommandExecutor(policy.deploy_command, timeout=policy.deploy_timeout_seconds)
    if policy.executor == ExecutorKind.WEBHOOK:
        return executors.WebhookExecutor(policy.deploy_webhook_url, timeout=policy.deploy_timeout_seconds)
    return executors.NoExecutor()
