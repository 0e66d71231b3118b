from datetime import datetime

from monitoring.drivers.base import Engine


class Alertmanager(Engine):
    """Alertmanager's API v2: silences (create, list, expire)."""

    name = "Alertmanager"

    def create_silence(self, *, matchers: dict, starts_at: datetime, ends_at: datetime, created_by: str, comment: str):
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
            "startsAt": starts_at.isoformat(),
            "endsAt": ends_at.isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        return self.request("POST", "/api/v2/silences", json=body).json()["silenceID"]

    def silences(self) -> list:
        return self.request("GET", "/api/v2/silences").json()

    def expire_silence(self, silence_id: str) -> None:
        self.request("DELETE", f"/api/v2/silence/{silence_id}")

    def alerts(self) -> list:
        return self.request("GET", "/api/v2/alerts").json()
