import sys

from django.core.management.base import BaseCommand

from backups import buckets, monitor
from backups.management.commands._common import protected_database
from backups.models import AssetBucket


class Command(BaseCommand):
    help = (
        "Print the backup checks of an environment; exit status 1 when any is red. With --refresh, first run "
        "the periodic RPO, backup-age, repository-region and asset-bucket checks here, as beat does (raising or "
        "resolving alerts)."
    )

    def add_arguments(self, parser):
        parser.add_argument("environment")
        parser.add_argument("--refresh", "--check-now", dest="refresh", action="store_true",
                            help="Run the RPO, age, region and bucket checks first (alias --check-now).")  # fmt: skip

    def handle(self, *args, environment, refresh=False, **options):
        database = protected_database(environment)
        if refresh:
            monitor.check_rpo(database_id=database.pk)
            monitor.check_backup_age(database_id=database.pk)
            monitor.check_regions(database_id=database.pk)
            for bucket in AssetBucket.objects.filter(environment=database.environment):
                buckets.check_bucket(bucket_id=bucket.pk)
        findings = monitor.status(database)
        for finding in findings:
            self.stdout.write(f"{'ok ' if finding.ok else 'RED'}  {finding.name:<12} {finding.text}")
        if not all(f.ok for f in findings):
            sys.exit(1)
