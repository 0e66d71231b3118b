import requests

from monitoring.exceptions import EngineUnavailable, MonitoringRefused


class Engine:
    """An engine's HTTP API: transient failures raise EngineUnavailable, refusals MonitoringRefused."""

    name = "engine"

    def __init__(self, base_url: str, *, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, **kwargs):
        try:
            response = requests.request(method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise EngineUnavailable(f"{self.name} at {self.base_url} did not answer: {exc}") from exc
        if response.status_code >= 500:
            raise EngineUnavailable(f"{self.name} answered {response.status_code}: {response.text[:300]}")
        if response.status_code >= 400:
            raise MonitoringRefused(f"{self.name} refused {method} {path}: {response.text[:300]}")
        return response

    def reload(self) -> str:
        self.request("POST", "/-/reload")
        return f"{self.name} reloaded"
