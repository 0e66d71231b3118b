from django.core.management.base import BaseCommand, CommandError

from backups import services
from backups.choices import RunStatus
from backups.exceptions import BackupError
from backups.management.commands._common import protected_database


class Command(BaseCommand):
    help = "Back up an environment's database now, in this process; exit status 1 when the run fails."

    def add_arguments(self, parser):
        parser.add_argument("environment", help="Environment key, e.g. production.")
        parser.add_argument("--type", choices=["full", "incr"], default="incr")
        parser.add_argument("--enqueue", action="store_true", help="Hand it to a worker instead of running it here.")

    def handle(self, *args, environment, type, enqueue, **options):  # noqa: A002 - the option's name
        database = protected_database(environment)
        try:
            run = services.request_backup(database_id=database.pk, backup_type=type, actor="manage.py backup_now",
                                          enqueue=enqueue)  # fmt: skip
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if enqueue:
            self.stdout.write(f"backup #{run.pk} ({type}) queued")
            return
        run = services.execute_backup(run_id=run.pk)
        if run.status != RunStatus.GOOD:
            raise CommandError(f"backup #{run.pk} failed: {run.error}")
        self.stdout.write(f"backup #{run.pk} good: {run.label} on repo{'+repo'.join(map(str, run.repos_reached))}, "
                          f"{run.size_bytes} bytes, WAL {run.wal_start}..{run.wal_stop}")  # fmt: skip
