from itertools import groupby
from operator import itemgetter

from django.db import migrations

from migrations_log.spans import spans_from_sets

BATCH = 5000


def to_spans(apps, schema_editor):
    """Each release's rows, in release order (the order they were created), become registrations 1…N."""
    ReleaseMigration = apps.get_model("migrations_log", "ReleaseMigration")
    MigrationSet = apps.get_model("migrations_log", "MigrationSet")
    MigrationSpan = apps.get_model("migrations_log", "MigrationSpan")
    rows = (
        ReleaseMigration.objects.order_by("release_id", "migration_id")
        .values_list("release_id", "migration_id")
        .iterator(chunk_size=BATCH)
    )
    sets = ((release, [m for _, m in group]) for release, group in groupby(rows, key=itemgetter(0)))
    numbered, spans = spans_from_sets(sets)
    MigrationSet.objects.bulk_create(
        (MigrationSet(release_id=release, seq=seq, size=size) for release, seq, size in numbered), batch_size=BATCH
    )
    MigrationSpan.objects.bulk_create(
        (MigrationSpan(migration_id=m, first_seq=first, last_seq=last) for m, first, last in spans), batch_size=BATCH
    )


def to_rows(apps, schema_editor):
    """Back to one row per release and migration: every migration whose span covers the release's number."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO migrations_log_releasemigration (release_id, migration_id) "
            "SELECT s.release_id, p.migration_id FROM migrations_log_migrationset s "
            "JOIN migrations_log_migrationspan p ON p.first_seq <= s.seq AND (p.last_seq IS NULL OR p.last_seq >= s.seq)"
        )


class Migration(migrations.Migration):
    dependencies = [("migrations_log", "0006_migration_spans")]

    operations = [migrations.RunPython(to_spans, to_rows)]
