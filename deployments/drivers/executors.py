"""Deploy executors: put a release on a slot. The exit code or HTTP status decides."""

import shlex
import subprocess
from dataclasses import dataclass


@dataclass
class ExecutionResult:
    ok: bool
    output: str


class Executor:
    """Puts a release on a slot."""

    @classmethod
    def from_policy(cls, policy):
        return cls()

    def run(self, *, slot, release) -> ExecutionResult: ...


class CommandExecutor(Executor):
    def __init__(self, template: str, *, timeout: float):
        self.template = template
        self.timeout = timeout

    @classmethod
    def from_policy(cls, policy):
        return cls(policy.deploy_command, timeout=policy.deploy_timeout_seconds)

    def run(self, *, slot, release) -> ExecutionResult:
        if not self.template:
            return ExecutionResult(False, "No deploy command is configured in the policy.")
        values = {"slot": slot.color, "address": slot.address, "ref": release.ref, "version": release.version}
        try:
            argv = [part.format(**values) for part in shlex.split(self.template)]
        except (KeyError, ValueError) as exc:
            return ExecutionResult(False, f"Bad deploy command template: {exc}")
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout)  # noqa: S603
        except subprocess.TimeoutExpired as exc:
            return ExecutionResult(False, f"{_out(exc.stdout)}{_out(exc.stderr)}\nTimed out after {self.timeout:g}s")
        except OSError as exc:
            return ExecutionResult(False, f"Could not run {argv[0]}: {exc}")
        output = f"$ {shlex.join(argv)}\n{done.stdout}{done.stderr}exit status {done.returncode}"
        return ExecutionResult(done.returncode == 0, output[-20000:])


class WebhookExecutor(Executor):
    def __init__(self, url: str, *, timeout: float):
        self.url = url
        self.timeout = timeout

    @classmethod
    def from_policy(cls, policy):
        return cls(policy.deploy_webhook_url, timeout=policy.deploy_timeout_seconds)

    def run(self, *, slot, release) -> ExecutionResult:
        payload = {"slot": slot.color, "address": slot.address, "ref": release.ref, "version": release.version}
        import requests  # heavy: needed when a step runs, not at start-up

        try:
            response = requests.post(self.url, json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            return ExecutionResult(False, f"POST {self.url}: {exc}")
        return ExecutionResult(response.ok, f"POST {self.url} → HTTP {response.status_code}\n{response.text[:5000]}")


class NoExecutor(Executor):
    def run(self, *, slot, release) -> ExecutionResult:
        return ExecutionResult(True, "No executor: the slot deploys itself.")


def _out(value):
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""
