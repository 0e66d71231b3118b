"""The database itself refuses to change or delete an access audit row, so no code path (queryset.update or
.delete included) can rewrite who touched a secret."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION secrets_registry_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'secret access audit rows are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER secrets_registry_audit_no_change BEFORE UPDATE OR DELETE ON secrets_registry_accessaudit
    FOR EACH ROW EXECUTE FUNCTION secrets_registry_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS secrets_registry_audit_no_change ON secrets_registry_accessaudit;
DROP FUNCTION IF EXISTS secrets_registry_audit_append_only();
"""


def forwards(apps, schema_editor):
    # PostgreSQL in production and tests; the embedded SQLite default relies on the model's save() and delete().
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("secrets_registry", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
