import json
from io import StringIO

import pytest
from django.core.management import call_command

from secrets_registry import policy
from secrets_registry.choices import AccountKind
from secrets_registry.models import SecretReference, ServiceAccount


def _by_account(document):
    return {p["service_account"]: p for p in document["policies"]}


def test_policy__each_service_account__get_secret_value_on_exactly_its_references(secrets_seeded, env):
    document = policy.export(env("production"))

    policies = _by_account(document)
    assert set(policies) == {"storefront-production", "ops-console"}
    console = policies["ops-console"]["policy_document"]["Statement"]
    wildcard = "arn:aws:secretsmanager:eu-west-1:*:secret:amarise/production/DATABASE_URL-??????"
    assert console == [{"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                        "Resource": [wildcard]}]  # fmt: skip
    storefront = policies["storefront-production"]["policy_document"]["Statement"][0]["Resource"]
    assert len(storefront) == 7
    assert policies["storefront-production"]["principal"].endswith(":role/amarise-storefront-production")
    assert document["flagged"] == []


def test_policy__known_arn__used_as_is(secrets_seeded, env):
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:amarise/production/DATABASE_URL-AbCdEf"
    SecretReference.objects.filter(name="amarise/production/DATABASE_URL").update(arn=arn)
    console = _by_account(policy.export(env("production")))["ops-console"]
    assert console["policy_document"]["Statement"][0]["Resource"] == [arn]


def test_policy__a_person_among_readers__flagged_and_left_out(secrets_seeded, env):
    person = ServiceAccount.objects.create(name="jane.doe", kind=AccountKind.PERSON)
    SecretReference.objects.get(name="amarise/production/STRIPE_SECRET_KEY").allowed_readers.add(person)

    document = policy.export(env("production"))

    assert document["flagged"] == [{"secret": "amarise/production/STRIPE_SECRET_KEY", "reader": "jane.doe",
                                    "problem": "a person may read it: §7 says service accounts only"}]  # fmt: skip
    assert "jane.doe" not in _by_account(document)


def test_secrets_policy_command__writes_json__exit_1_when_a_person_reads(secrets_seeded, tmp_path):
    out = StringIO()
    call_command("secrets_policy", "--environment", "production", stdout=out)
    assert json.loads(out.getvalue())["environment"] == "production"

    person = ServiceAccount.objects.create(name="jane.doe", kind=AccountKind.PERSON)
    SecretReference.objects.get(name="amarise/production/EMAIL_API_KEY").allowed_readers.add(person)
    target, err = tmp_path / "policy.json", StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("secrets_policy", "--environment", "production", "--output", str(target), stderr=err)
    assert exited.value.code == 1
    assert "amarise/production/EMAIL_API_KEY may be read by jane.doe" in err.getvalue()
    assert json.loads(target.read_text())["flagged"][0]["reader"] == "jane.doe"
