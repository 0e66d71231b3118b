"""The database itself refuses to change a timeline entry, so no code path (queryset.update included) can."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION incidents_timeline_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'incident timeline entries are append-only: add a correction instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER incidents_timeline_no_update BEFORE UPDATE ON incidents_timelineentry
    FOR EACH ROW EXECUTE FUNCTION incidents_timeline_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS incidents_timeline_no_update ON incidents_timelineentry;
DROP FUNCTION IF EXISTS incidents_timeline_append_only();
"""


def forwards(apps, schema_editor):
    # PostgreSQL in production and tests; the embedded SQLite default relies on the model's save().
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
