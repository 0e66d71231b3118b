import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from refreshes.choices import RunStatus, Strategy
from refreshes.models import MaskingRule, RefreshRun, looks_personal

pytestmark = pytest.mark.django_db


def test_masking_rule__truncate_with_a_column__rejected():
    with pytest.raises(ValidationError, match="whole table"):
        MaskingRule(table="sessions", column="token", strategy=Strategy.TRUNCATE).full_clean()


def test_masking_rule__fake_without_dictionary__rejected():
    with pytest.raises(ValidationError, match="dictionary"):
        MaskingRule(table="customers", column="nick", strategy=Strategy.FAKE, params={}).full_clean()


def test_masking_rule__date_shift_bad_days__rejected():
    with pytest.raises(ValidationError, match="days"):
        MaskingRule(table="c", column="d", strategy=Strategy.DATE_SHIFT, params={"days": "many"}).full_clean()


def test_masking_rule__same_table_and_column_twice__refused():
    MaskingRule.objects.create(table="customers", column="nick", strategy=Strategy.KEEP)
    with pytest.raises(IntegrityError):
        MaskingRule.objects.create(table="customers", column="nick", strategy=Strategy.NULL)


@pytest.mark.parametrize(
    "column, personal",
    [("email", True), ("contact_email", True), ("first_name", True), ("last_login_ip", True), ("iban", True),
     ("card_fingerprint", True), ("token", True), ("birth_date", True), ("total_cents", False), ("status", False)],
)  # fmt: skip
def test_looks_personal__column_names__flagged(column, personal):
    assert looks_personal(column) is personal


def test_refresh_run__finished__allows_no_transition(seeded):
    from environments.models import Environment

    run = RefreshRun(kind="dev_reset", environment=Environment.objects.get(key="dev"), status=RunStatus.SUCCEEDED)
    assert not run.can_move_to(RunStatus.RUNNING)
    assert RefreshRun(status=RunStatus.PENDING).can_move_to(RunStatus.RUNNING)
