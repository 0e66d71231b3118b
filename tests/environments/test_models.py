"""The strategy's guarantees outside production are model rules, checked on every save through forms."""

import pytest
from django.core.exceptions import ValidationError

from environments.choices import Tier
from environments.models import Environment, RequiredVariable

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("payments", "stripe_live", "Stripe live mode is for production only."),
        ("data_policy", "real_customer_data", "Real customer data stays in production."),
        ("email", "production", "Only production sends real email."),
    ],
)
def test_clean__staging_with_production_only_setting__refused(seeded, field, value, message):
    staging = Environment.objects.get(key="staging")
    setattr(staging, field, value)
    with pytest.raises(ValidationError) as excinfo:
        staging.full_clean()
    assert excinfo.value.message_dict[field] == [message]


def test_clean__production_with_live_payments__accepted(seeded):
    Environment.objects.get(key="production").full_clean()


def test_clean__cloud_storage_without_bucket__refused(seeded):
    dev = Environment.objects.get(key="dev")
    dev.storage_bucket = ""
    with pytest.raises(ValidationError) as excinfo:
        dev.full_clean()
    assert "storage_bucket" in excinfo.value.message_dict


def test_tier_and_data_age__follow_the_strategy(seeded):
    envs = {e.key: e for e in Environment.objects.all()}
    assert [envs[k].tier for k in ("local", "dev", "staging", "production")] == [
        Tier.DEVELOPMENT,
        Tier.DEVELOPMENT,
        Tier.PRE_PRODUCTION,
        Tier.PRODUCTION,
    ]
    assert envs["dev"].data_max_age.days == 1
    assert envs["staging"].data_max_age.days == 7
    assert envs["production"].data_max_age is None


def test_health_url__joins_url_and_path(seeded):
    env = Environment(url="https://dev.amarise.com/", health_path="healthz")
    assert env.health_url == "https://dev.amarise.com/healthz"


def test_required_variable__secret_with_expected_value__refused(seeded):
    variable = RequiredVariable.objects.get(environment__key="production", name="STRIPE_SECRET_KEY")
    variable.expected_value = "sk_live_123"
    with pytest.raises(ValidationError) as excinfo:
        variable.full_clean()
    assert "expected_value" in excinfo.value.message_dict


def test_required_variable__lowercase_name__refused(seeded):
    variable = RequiredVariable(environment=Environment.objects.get(key="dev"), name="debug")
    with pytest.raises(ValidationError) as excinfo:
        variable.full_clean()
    assert "name" in excinfo.value.message_dict
