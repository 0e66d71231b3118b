from django.db import migrations


class Migration(migrations.Migration):
    """The per-release copies are spans now (0007): nothing reads them."""

    dependencies = [("migrations_log", "0007_migration_sets_to_spans")]

    operations = [migrations.DeleteModel(name="ReleaseMigration")]
