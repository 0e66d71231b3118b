from monitoring.drivers.base import Engine
from monitoring.exceptions import MonitoringRefused


class Prometheus(Engine):
    name = "Prometheus"

    def _data(self, path, params):
        body = self.request("GET", path, params=params).json()
        if body.get("status") != "success":
            raise MonitoringRefused(f"Prometheus refused the query: {body.get('error', body)}")
        return body["data"]

    def query(self, promql: str) -> list:
        return self._data("/api/v1/query", {"query": promql})["result"]

    def value(self, promql: str) -> float | None:
        """The first series' value, or None when there is none (or it is NaN: no traffic)."""
        result = self.query(promql)
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if value != value else value

    def query_range(self, promql: str, *, start: float, end: float, step: float) -> list:
        return self._data("/api/v1/query_range", {"query": promql, "start": start, "end": end, "step": step})["result"]

    def rules(self) -> list:
        return self._data("/api/v1/rules", {})["groups"]
