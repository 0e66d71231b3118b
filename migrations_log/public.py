"""The migrations log's front door: what other apps may use. Nothing else is imported across apps."""

from migrations_log.drivers.postgresql import LEDGER, LEDGER_SCHEMA
from migrations_log.executor import replay_live_migrations

__all__: list[str] = ["LEDGER", "LEDGER_SCHEMA", "replay_live_migrations"]
