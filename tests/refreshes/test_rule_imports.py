"""Masking-rule imports: behind the change permission, each row through services.save_masking_rule."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from refreshes.models import MaskingRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    return seeded_module


LEAK = "table,column,strategy,params,note\ncustomers,email,keep,{},\n"
CSV = "1"  # the admin's formats: YAML, CSV


def upload(client, content):
    upload = SimpleUploadedFile("rules.csv", content.encode())
    return client.post("/admin/refreshes/maskingrule/import/", {"import_file": upload, "format": CSV, "resource": "0"})


def rules():
    return sorted(MaskingRule.objects.values_list("table", "column", "strategy"))


def test_import__view_only_login__refused_with_a_message_nothing_written(seeded, client, viewer):
    # Given a login that may view masking rules and change nothing
    client.force_login(viewer)
    before = rules()
    # When it imports `customers.email: keep`
    response = upload(client, LEAK)
    # Then the import is refused, saying why, and the rule still masks
    assert response.status_code == 302
    assert "You may not import masking rules" in client.get(response.url).content.decode()
    assert rules() == before
    assert MaskingRule.objects.get(table="customers", column="email").strategy == "email"


def test_import__personal_column_kept__row_refused_even_for_a_superuser(seeded, admin_client):
    before = rules()
    body = upload(admin_client, LEAK).content.decode()
    assert "customers.email holds personal data" in body and "Confirm import" not in body
    assert rules() == before


def test_import__editor_without_add_permission__new_rule_refused_nothing_written(seeded, client, make_user):
    # Given a login that may change rules but not add them
    client.force_login(make_user("frank", "refreshes.view_maskingrule", "refreshes.change_maskingrule"))
    before = rules()
    # When its file adds a rule
    body = upload(client, "table,column,strategy,params,note\ncustomers,nickname,null,{},\n").content.decode()
    # Then that row is refused and nothing is imported
    assert "may not add masking rules" in body and "Confirm import" not in body
    assert rules() == before


def test_import__allowed_login__applies_through_the_service_with_history(seeded, client, make_user):
    erin = make_user("erin", "refreshes.view_maskingrule", "refreshes.change_maskingrule", "refreshes.add_maskingrule")
    client.force_login(erin)
    content = "table,column,strategy,params,note\ncustomers,nickname,null,{},new column\n"
    response = upload(client, content)
    body = response.content.decode()
    assert "Confirm import" in body
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
    client.post("/admin/refreshes/maskingrule/process_import/", fields)
    rule = MaskingRule.objects.get(table="customers", column="nickname")
    assert rule.history.latest().history_user == erin
