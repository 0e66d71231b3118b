import re

from backups.public import DriverError, ProtectedDatabase, RunStatus, ScratchRestore
from refreshes.drivers.base import Source, dump_into
from refreshes.drivers.pg_dump import PgDumpSource
from refreshes.exceptions import RefreshError
from refreshes.pg import Dsn

# pgBackRest's selective restore, asked for a database the backup does not have.
_NOT_IN_BACKUP = re.compile(r"database to include '[^']*' does not exist")


class BackupRestoreSource(Source):
    """Production's latest backup, restored by the backups app into a scratch cluster, then copied from there.

    Production is not read at all, and every refresh is one more proof that the backup restores. With no
    good backup to restore, it falls back to a pg_dump of production and says so.
    """

    kind = "backup_restore"

    def copy_into(self, scratch) -> str:
        database, why_not = self._protected_database()
        if database is None:
            fallback = PgDumpSource(self.production)
            detail = fallback.copy_into(scratch)
            self.facts.update(fallback="pg_dump", fallback_reason=why_not)
            return f"{detail} (fallback: {why_not})"

        failures = []
        for repo in database.repos:  # repo2, the cross-region copy, when repo1 does not restore
            try:
                # Only production's database: a weekly restore as small as what staging needs.
                with ScratchRestore(database, name=f"refresh-{scratch.dbname}", repo=repo,
                                    only_databases=[self.production.dbname]) as restored:  # fmt: skip
                    self._copy_from(restored, scratch, stanza=database.stanza)
                    reached = restored.recovery_point()
                    self.facts.update(stanza=database.stanza, repo=repo, backup_label=restored.label,
                                      recovery_point=reached.isoformat() if reached else None,
                                      repo_failures=failures)  # fmt: skip
                    return (f"restored backup {restored.label} of {database.stanza} from repo{repo}"
                            f"{f' (recovery point {reached:%Y-%m-%d %H:%M:%S %Z})' if reached else ''}, "
                            f"copied {self.production.dbname} into {scratch.dbname}")  # fmt: skip
            except (DriverError, OSError) as exc:
                if _NOT_IN_BACKUP.search(str(exc)):  # the same in every repository: not a repository's fault
                    raise RefreshError(
                        f"the backup of {database.stanza} holds no database {self.production.dbname!r}: production's "
                        "data target and its protected database in Backups name different clusters"
                    ) from exc
                failures.append(f"repo{repo}: {exc}")
        raise RefreshError(f"production's latest backup did not restore: {'; '.join(failures)}")

    def _protected_database(self):
        """(the production database the backups app protects, None) or (None, why it cannot be used)."""
        database = ProtectedDatabase.objects.filter(environment__key="production").first()
        if database is None or not database.enabled:
            return None, "production has no enabled protected database in Backups"
        if not database.runs.filter(status=RunStatus.GOOD).exists():
            return None, f"{database.stanza} has no good backup yet"
        return database, ""

    def _copy_from(self, restored, scratch, *, stanza):
        cluster = restored.cluster
        source = Dsn.of({"host": cluster.socket_directory, "port": str(cluster.port), "user": "postgres",
                         "dbname": self.production.dbname})  # fmt: skip
        dump_into(source, scratch, what=f"{self.production.dbname} restored from {stanza}")
