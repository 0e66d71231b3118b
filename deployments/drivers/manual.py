"""For environments whose load balancer has no API: a person sets the weights and confirms."""

from deployments.drivers.base import Balancer


class ManualBalancer(Balancer):
    reports_stats = False
    needs_confirmation = True

    def set_weight(self, server, weight):
        pass  # shown to the person; the engine waits for their confirmation

    def set_state(self, server, state):
        pass

    def stats(self):
        return {}
