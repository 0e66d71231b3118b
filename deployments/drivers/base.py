from dataclasses import dataclass


@dataclass(frozen=True)
class ServerStats:
    """One server's line of the load balancer's statistics."""

    name: str
    status: str  # UP, DOWN, MAINT, DRAIN, no check
    check_status: str
    weight: int
    req_tot: int
    hrsp_5xx: int
    rtime_ms: int | None  # average response time over the last 1024 requests


class Balancer:
    """Moves traffic between the slots of one backend."""

    reports_stats = True
    needs_confirmation = False

    @classmethod
    def from_policy(cls, policy):
        return cls()

    def set_weight(self, server: str, weight: int): ...

    def set_state(self, server: str, state: str): ...

    def stats(self) -> dict[str, ServerStats]: ...
