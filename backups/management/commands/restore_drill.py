from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from backups import drills
from backups.choices import DrillStatus
from backups.exceptions import BackupError
from backups.management.commands._common import protected_database


def _time(text):
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--target-time {text!r} is not ISO 8601, e.g. 2026-01-31T14:05:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Restore the latest backup (or a point in time) into a scratch cluster, check it, measure the RTO."

    def add_arguments(self, parser):
        parser.add_argument("environment")
        parser.add_argument("--target-time", help="ISO 8601; default: the latest backup and all archived WAL.")
        parser.add_argument("--repo", type=int, choices=[1, 2], default=1)

    def handle(self, *args, environment, target_time, repo, **options):
        database = protected_database(environment)
        target = _time(target_time) if target_time else None
        try:
            drill = drills.request_drill(database_id=database.pk, actor="manage.py restore_drill",
                                         target_time=target, repo=repo, enqueue=False)  # fmt: skip
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        drill = drills.execute(drill_id=drill.pk)
        for r in drill.results:
            self.stdout.write(f"{r['service']:<16} tier {r['tier']}  RTO {r['measured_rto_s']}s / "
                              f"{r['rto_target']}  {'met' if r['rto_met'] else 'MISSED'}  "
                              f"{'checks ok' if r['ok'] else 'checks FAILED: ' + r['error']}")  # fmt: skip
        if drill.status != DrillStatus.PASSED:
            raise CommandError(f"drill #{drill.pk} failed: {drill.error or 'see the results above'}")
        self.stdout.write(f"drill #{drill.pk} passed: measured RTO {drill.measured_rto}, backup {drill.backup_label}, "
                          f"recovery point {drill.recovery_point} (the last transaction replayed); "
                          "scratch cluster removed")  # fmt: skip
