"""Fail closed: a column nobody ruled stops the refresh, and says which one."""

import psycopg
import pytest

from refreshes import services
from refreshes.choices import Strategy
from refreshes.exceptions import RefreshError
from refreshes.models import MaskingRule, kept_personal
from refreshes.schema import Column, check_rules
from tests.refreshes.conftest import db_url

pytestmark = pytest.mark.django_db


def _col(table, column, data_type, nullable, schema="public"):
    return Column(schema, table, column, data_type, nullable)


def _rule(table, column, strategy, **params):
    return MaskingRule(table=table, column=column, strategy=strategy, params=params)


def test_check_rules__every_column_ruled__passes():
    columns = [_col("customers", "id", "bigint", False), _col("customers", "email", "text", False)]
    rules = [_rule("customers", "id", Strategy.KEEP), _rule("customers", "email", Strategy.EMAIL)]
    assert check_rules(columns, rules).passed


def test_check_rules__unruled_column__fails_and_flags_it_personal():
    columns = [_col("customers", "id", "bigint", False), _col("customers", "nickname", "text", True)]
    check = check_rules(columns, [_rule("customers", "id", Strategy.KEEP)])
    assert not check.passed
    assert check.unruled == ["public.customers.nickname"] and check.personal_unruled == ["public.customers.nickname"]
    assert "public.customers.nickname" in check.summary()


def test_check_rules__emptied_table__needs_no_column_rules():
    columns = [_col("sessions", "session_key", "text", False), _col("sessions", "ip_address", "inet", True)]
    assert check_rules(columns, [_rule("sessions", "", Strategy.TRUNCATE)]).passed


def test_check_rules__strategy_does_not_fit_the_type__fails():
    columns = [_col("customers", "birth_date", "date", True), _col("customers", "email", "text", False)]
    rules = [_rule("customers", "birth_date", Strategy.EMAIL), _rule("customers", "email", Strategy.NULL)]
    check = check_rules(columns, rules)
    assert not check.passed and len(check.mismatched) == 2


def test_check_rules_against_production__new_column__reported(targets, mutable_production):
    assert services.check_rules_against_production().passed
    with psycopg.connect(db_url(mutable_production)) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN loyalty_nickname text")
    check = services.check_rules_against_production()
    assert check.unruled == ["public.customers.loyalty_nickname"]
    assert check.personal_unruled == ["public.customers.loyalty_nickname"]


def test_check_rules_against_production__variable_missing__clear_error(targets, monkeypatch):
    monkeypatch.delenv("OPS_TEST_REFRESHES_PRODUCTION_URL")
    with pytest.raises(RefreshError, match="OPS_TEST_REFRESHES_PRODUCTION_URL is not set"):
        services.check_rules_against_production()


def test_check_rules__personal_column_kept__preflight_refuses():
    # A rule written before the model refused it (or straight into the database) still stops the refresh.
    columns = [_col("customers", "email", "text", False)]
    check = check_rules(columns, [_rule("customers", "email", Strategy.KEEP)])
    assert not check.passed
    assert check.mismatched == ["public.customers.email (kept, but it holds personal data)"]


@pytest.mark.parametrize("column", ["email", "contact_email", "phone", "password_hash", "birth_date", "last_login_ip"])
def test_kept_personal__named_personal__refused(column):
    assert "holds personal data" in kept_personal(_rule("customers", column, Strategy.KEEP))


@pytest.mark.parametrize("column", ["postal_code", "name", "email_opt_in", "shipping_address_id"])
def test_kept_personal__not_personal_by_name__allowed(column):
    assert kept_personal(_rule("customers", column, Strategy.KEEP)) == ""
