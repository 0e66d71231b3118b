"""HAProxy through its runtime API (the stats socket), one command per connection."""

import csv
import io
import socket

from core import config_values
from deployments.drivers.base import Balancer, ServerStats
from deployments.exceptions import DriverError

_STATES = {"ready", "drain", "maint"}


class HAProxyBalancer(Balancer):
    def __init__(self, address: str, backend: str, *, timeout: float = 3.0):
        if not address:
            raise DriverError("The HAProxy runtime API socket is not configured in the policy.", permanent=True)
        self.address = address
        self.backend = backend
        self.timeout = timeout

    @classmethod
    def from_policy(cls, policy):
        return cls(policy.balancer_socket, policy.balancer_backend)

    def command(self, line: str) -> str:
        if config_values.problem(line):  # one line, one command: a newline would send a second one
            raise DriverError(f"HAProxy command refused: {config_values.problem(line)}.", permanent=True)
        try:
            with self._connect() as sock:
                sock.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise DriverError(f"HAProxy runtime API at {self.address}: {exc}") from exc
        return b"".join(chunks).decode()

    def _connect(self):
        if self.address.startswith("tcp:"):
            host, port = self.address[4:].rsplit(":", 1)
            sock = socket.create_connection((host, int(port)), timeout=self.timeout)
        else:
            path = self.address.removeprefix("unix:")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(path)
        return sock

    def _expect_empty(self, line):
        answer = self.command(line).strip()
        # HAProxy answers nothing on success, and a sentence on refusal.
        if answer:
            raise DriverError(f"HAProxy refused `{line}`: {answer}", permanent="No such" in answer)

    def _server(self, server):
        """backend/server for a command, refusing names that would split it into other arguments or commands."""
        try:
            config_values.check(
                self.backend, what=f"HAProxy backend {self.backend!r}", forbidden=config_values.HAPROXY_NAME
            )
            config_values.check(server, what=f"HAProxy server {server!r}", forbidden=config_values.HAPROXY_NAME)
        except config_values.ConfigValueRefused as exc:
            raise DriverError(str(exc), permanent=True) from None
        return f"{self.backend}/{server}"

    def set_weight(self, server, weight):
        self._expect_empty(f"set server {self._server(server)} weight {int(weight)}")

    def set_state(self, server, state):
        if state not in _STATES:
            raise DriverError(f"Unknown server state {state!r}", permanent=True)
        self._expect_empty(f"set server {self._server(server)} state {state}")

    def stats(self):
        text = self.command("show stat").lstrip("# ")
        servers = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("pxname") != self.backend or row.get("svname") in {"FRONTEND", "BACKEND"}:
                continue
            servers[row["svname"]] = ServerStats(
                name=row["svname"],
                status=row.get("status", ""),
                check_status=row.get("check_status", ""),
                weight=_int(row.get("weight")) or 0,
                req_tot=_int(row.get("req_tot")) or 0,
                hrsp_5xx=_int(row.get("hrsp_5xx")) or 0,
                rtime_ms=_int(row.get("rtime")),
            )
        if not servers:
            raise DriverError(f"HAProxy has no servers in backend {self.backend!r}", permanent=True)
        return servers


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
