import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Release migration sets as spans of registration numbers (issue 19); 0007 converts, 0008 drops the copies."""

    dependencies = [
        ("deployments", "0007_post_deployment_checklist"),
        ("migrations_log", "0005_migration_run_data_refreshed_at"),
    ]

    operations = [
        # The old rows give up the name `migration_set` on Release to the new model (no change in the database).
        migrations.AlterField(
            model_name="releasemigration",
            name="release",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="deployments.release"
            ),
        ),
        migrations.CreateModel(
            name="MigrationSet",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "seq",
                    models.PositiveBigIntegerField(
                        help_text="Registration number: later registrations are higher.", unique=True
                    ),
                ),
                (
                    "size",
                    models.PositiveIntegerField(
                        help_text="How many migrations the set holds (for lists, not for rules)."
                    ),
                ),
                (
                    "release",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="migration_set",
                        to="deployments.release",
                    ),
                ),
            ],
            options={
                "ordering": ["seq"],
            },
        ),
        migrations.CreateModel(
            name="MigrationSpan",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_seq", models.PositiveBigIntegerField()),
                ("last_seq", models.PositiveBigIntegerField(blank=True, null=True)),
                (
                    "migration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="spans",
                        to="migrations_log.migration",
                    ),
                ),
            ],
            options={
                "ordering": ["migration", "first_seq"],
            },
        ),
        migrations.AddConstraint(
            model_name="migrationspan",
            constraint=models.UniqueConstraint(
                condition=models.Q(("last_seq__isnull", True)), fields=("migration",), name="migration_span_open_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="migrationspan",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("last_seq__isnull", True), ("last_seq__gte", models.F("first_seq")), _connector="OR"
                ),
                name="migration_span_not_empty",
            ),
        ),
    ]
