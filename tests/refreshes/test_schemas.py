"""Every schema masked or refused: rules name schema.table.column, a schema no rule mentions fails the preflight
by name, and the console's own ledger (amarise_ops) is kept as it is by a refresh."""

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from environments.models import Environment
from migrations_log.executor import apply_pending
from migrations_log.models import MigrationTarget
from migrations_log.services import register_release
from refreshes import masking
from refreshes.choices import RunKind, RunStatus, Strategy
from refreshes.models import MaskingRule
from refreshes.schema import Column, check_rules, read_columns
from tests.migrations_log.helpers import release
from tests.refreshes.conftest import db_url, query, run_directly, text_of_database

pytestmark = pytest.mark.django_db


def _col(schema, table, column, data_type="text", nullable=True):
    return Column(schema, table, column, data_type, nullable)


def _rule(schema, table, column, strategy, **params):
    return MaskingRule(schema=schema, table=table, column=column, strategy=strategy, params=params)


PUBLIC = [_col("public", "customers", "id", "bigint", False)]
PUBLIC_RULES = [_rule("public", "customers", "id", Strategy.KEEP)]


def test_check_rules__schema_no_rule_mentions__fails_naming_it():
    columns = PUBLIC + [_col("crm", "contacts", "id", "bigint"), _col("crm", "contacts", "email")]
    check = check_rules(columns, PUBLIC_RULES)
    assert not check.passed and check.unknown_schemas == ["crm (1 table(s))"]
    assert check.summary().startswith("schema(s) no masking rule mentions: crm (1 table(s))")
    assert check.unruled == ["crm.contacts.id", "crm.contacts.email"]


def test_check_rules__same_table_name_in_two_schemas__ruled_apart():
    columns = PUBLIC + [_col("crm", "customers", "id", "bigint")]
    check = check_rules(columns, PUBLIC_RULES + [_rule("crm", "contacts", "", Strategy.TRUNCATE)])
    assert check.unruled == ["crm.customers.id"] and check.unknown_schemas == []
    assert check.stale_rules == ["crm.contacts.*"]


def test_check_rules__console_ledger__kept_without_rules_anything_else_in_amarise_ops_checked():
    ledger = [_col("amarise_ops", "amarise_migrations_log", c) for c in ("identifier", "sha256", "applied_at")]
    assert check_rules(PUBLIC + ledger, PUBLIC_RULES).passed
    check = check_rules(PUBLIC + ledger + [_col("amarise_ops", "notes", "email")], PUBLIC_RULES)
    assert check.unruled == ["amarise_ops.notes.email"] and check.unknown_schemas == ["amarise_ops (1 table(s))"]


def test_masking_statements__schema_qualified_and_ledger_untouched():
    columns = [
        _col("crm", "contacts", "email"),
        _col("crm", "calls", "id", "bigint"),
        _col("amarise_ops", "amarise_migrations_log", "sha256"),
    ]
    rules = [
        _rule("crm", "contacts", "email", Strategy.EMAIL, domain="crm"),
        _rule("crm", "calls", "", Strategy.TRUNCATE),
        _rule("amarise_ops", "amarise_migrations_log", "sha256", Strategy.NULL),  # ignored: the ledger is kept
    ]
    truncate, updates = masking.masking_statements(rules, columns)
    assert truncate[0] == "crm.calls" and truncate[1].as_string() == 'TRUNCATE "crm"."calls"'
    assert [name for name, _ in updates] == ["crm.contacts"]
    assert updates[0][1].as_string().startswith('UPDATE "crm"."contacts" SET "email" = ')


def test_read_columns__every_schema_but_the_system_and_work_ones(targets, mutable_production):
    with psycopg.connect(db_url(mutable_production), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA crm; CREATE TABLE crm.contacts (id bigint PRIMARY KEY, email text NOT NULL)")
        conn.execute("CREATE SCHEMA _ops_refresh; CREATE TABLE _ops_refresh.names (word text)")
        conn.execute("CREATE TEMP TABLE scratchpad (x int)")
        columns = read_columns(conn)
    schemas = {c.schema for c in columns}
    assert schemas == {"public", "crm"}
    assert _col("crm", "contacts", "email", "text", False) in columns


def _upload(client, content):
    upload = SimpleUploadedFile("rules.csv", content.encode())
    return client.post("/admin/refreshes/maskingrule/import/", {"import_file": upload, "format": "1", "resource": "0"})


def _confirm(client, body):
    import re

    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
    return client.post("/admin/refreshes/maskingrule/process_import/", fields, follow=True)


def test_import__old_two_part_form__read_as_public_with_a_message(seeded, admin_client):
    response = _upload(admin_client, "table,column,strategy,params,note\ncustomers,nickname,null,{},\n")
    body = response.content.decode()
    assert "read as schema public" in body and "Confirm import" in body
    _confirm(admin_client, body)
    assert MaskingRule.objects.get(table="customers", column="nickname").schema == "public"


def test_import__schema_column_or_dotted_table__other_schemas_ruled(seeded, admin_client):
    content = "schema,table,column,strategy,params,note\ncrm,contacts,email,email,{},\n,crm.contacts,note,scrub,{},\n"
    body = _upload(admin_client, content).content.decode()
    assert "read as schema public" not in body
    _confirm(admin_client, body)
    assert set(MaskingRule.objects.filter(schema="crm").values_list("table", "column")) == {
        ("contacts", "email"),
        ("contacts", "note"),
    }


CRM = {
    "0001_crm_contacts.sql": (
        "CREATE SCHEMA crm;\n"
        "CREATE TABLE crm.contacts (id bigint PRIMARY KEY, customer_id bigint REFERENCES public.customers (id), "
        "email text NOT NULL, note text);\n"
        "INSERT INTO crm.contacts SELECT id, id, email, 'Called ' || first_name FROM public.customers;\n"
    ),
}


def test_staging_refresh__production_migrated_through_the_console__crm_refused_then_masked_ledger_kept(
    targets, mutable_production, staging_name, monkeypatch
):
    # Given a production database that ran a migration through the console: a crm schema, and its ledger
    monkeypatch.setenv("REFRESHES_TEST_PRODUCTION_DATABASE_URL", f"{db_url(mutable_production)}")
    production = Environment.objects.get(key="production")
    MigrationTarget.objects.filter(environment=production).update(
        database_url_variable="REFRESHES_TEST_PRODUCTION_DATABASE_URL", enabled=True
    )
    register_release(version="3.0", files=CRM, ref="v3.0", ref_kind="tag")
    result = apply_pending(release=release("3.0", ref_kind="tag"), environment=production)
    assert result.ok, result.output
    ledger = query(mutable_production, "SELECT identifier, sha256 FROM amarise_ops.amarise_migrations_log")
    assert [r[0] for r in ledger] == ["0001_crm_contacts"]

    # When staging is refreshed while no rule mentions crm: refused by name, nothing copied
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.FAILED
    assert "schema(s) no masking rule mentions: crm (1 table(s))" in run.error
    assert "crm.contacts.email" in run.error and run.steps.get(name="copy").status == "skipped"

    # When its columns are ruled, the refresh masks crm too and keeps the console's ledger as it is
    for column, strategy, params in [
        ("id", Strategy.KEEP, {}),
        ("customer_id", Strategy.KEEP, {}),
        ("email", Strategy.EMAIL, {"domain": "customers"}),
        ("note", Strategy.SCRUB, {}),
    ]:
        MaskingRule.objects.create(schema="crm", table="contacts", column=column, strategy=strategy, params=params)
    run = run_directly(RunKind.STAGING_REFRESH)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "crm.contacts.email" not in str(run.leak_scan["leaks"]) and run.leak_scan_passed
    assert run.row_counts["crm.contacts"] == run.row_counts["public.customers"] > 0
    assert any(fk["child"] == "crm.contacts" and fk["orphans"] == 0 for fk in run.checks["foreign_keys"])
    joined = "SELECT count(*) FROM crm.contacts k JOIN customers c ON c.id = k.customer_id AND c.email = k.email"
    assert query(staging_name, joined)[0][0] == run.row_counts["crm.contacts"]  # the same HMAC: joins by email hold
    everything = text_of_database(staging_name)
    real = query(mutable_production, "SELECT email, first_name FROM customers")
    assert [v for row in real for v in row if v in everything] == []
    assert query(staging_name, "SELECT identifier, sha256 FROM amarise_ops.amarise_migrations_log") == ledger


def test_console_schema__the_one_the_migrations_ledger_uses():
    from migrations_log.public import LEDGER, LEDGER_SCHEMA
    from refreshes.schema import CONSOLE_SCHEMA, CONSOLE_TABLES

    assert (CONSOLE_SCHEMA, LEDGER in CONSOLE_TABLES) == (LEDGER_SCHEMA, True)
