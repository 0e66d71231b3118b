"""The matrix through django-import-export: CSV, JSON and YAML, preview then confirm; bad files change nothing."""

import json
import re

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from flags.models import ChangeRequest, Flag, FlagState
from tests.flags.conftest import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seeded_module, db):
    # Seeded once for this module (no transactional tests here); each test rolls back to that state.
    return seeded_module


FORMATS = {"csv": "0", "json": "1", "yaml": "2"}
COLUMNS = ["key", "category", "description", "owner", "kind", "local", "dev", "staging", "production"]
HEADER = ",".join(COLUMNS) + "\n"


def export(client, fmt):
    fields = {f"flagmatrixresource_{c}": "on" for c in COLUMNS}
    response = client.post("/admin/flags/flag/export/", {"format": FORMATS[fmt], "resource": "0", **fields})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def preview(client, name, content, fmt="csv"):
    upload = SimpleUploadedFile(name, content if isinstance(content, bytes) else content.encode())
    return client.post("/admin/flags/flag/import/", {"import_file": upload, "format": FORMATS[fmt], "resource": "0"})


def confirm(client, preview_response):
    body = preview_response.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
    assert "import_file_name" in fields, "no confirm step offered"
    return client.post("/admin/flags/flag/process_import/", fields, follow=True)


def snapshot():
    return (
        sorted(FlagState.objects.values_list("flag__key", "environment__key", "enabled")),
        sorted(Flag.objects.values_list("key", "category", "kind")),
        FlagState.history.count(),
        ChangeRequest.objects.count(),
    )


def test_export__csv__the_matrix_one_row_per_flag(seeded, admin_client):
    lines = export(admin_client, "csv").strip().splitlines()
    assert lines[0].strip() == ",".join(COLUMNS)
    assert len(lines) == 20
    reviews = next(line for line in lines if line.startswith("reviews,"))
    assert reviews.strip().endswith("True,True,False,False") or reviews.strip().endswith("1,1,0,0")


def test_export__json_and_yaml__same_matrix(seeded, admin_client):
    rows_json = {r["key"]: r for r in json.loads(export(admin_client, "json"))}
    rows_yaml = {r["key"]: r for r in yaml.safe_load(export(admin_client, "yaml"))}
    assert rows_json["darkMode"]["staging"] is False and rows_json["darkMode"]["dev"] is True
    assert rows_yaml["darkMode"]["staging"] is False and rows_yaml.keys() == rows_json.keys()


def test_import__csv_preview_changes_nothing_confirm_applies_audited(seeded, admin_client, admin_user):
    before = snapshot()
    content = HEADER + "reviews,commerce,Product reviews,commerce,release,true,true,true,false\n"
    response = preview(admin_client, "matrix.csv", content)
    assert response.status_code == 200 and "Confirm import" in response.content.decode()
    assert snapshot() == before
    confirm(admin_client, response)
    assert state("reviews", "staging").enabled is True
    record = FlagState.history.filter(id=state("reviews", "staging").pk).latest("history_id")
    assert (record.history_user, record.history_change_reason) == (admin_user, "import")


def test_import__production_cell__becomes_a_change_request(seeded, admin_client):
    content = HEADER + "reviews,commerce,Product reviews,commerce,release,true,true,false,true\n"
    confirm(admin_client, preview(admin_client, "matrix.csv", content))
    assert state("reviews", "production").enabled is False
    assert ChangeRequest.objects.get().source == "import"


def test_import__yaml_round_trip_with_a_new_flag__created_in_every_environment(seeded, admin_client):
    rows = yaml.safe_load(export(admin_client, "yaml"))
    rows.append({"key": "giftWrap", "category": "commerce", "description": "Gift wrapping", "owner": "commerce",
                 "kind": "release", "local": True, "dev": True, "staging": False, "production": False})  # fmt: skip
    confirm(admin_client, preview(admin_client, "matrix.yaml", yaml.safe_dump(rows), fmt="yaml"))
    assert sorted(FlagState.objects.filter(flag__key="giftWrap").values_list("environment__key", "enabled")) == [
        ("dev", True), ("local", True), ("production", False), ("staging", False)
    ]  # fmt: skip


def test_import__json__applies(seeded, admin_client):
    rows = [{"key": "darkMode", "category": "ui", "description": "Dark mode toggle", "owner": "ui",
             "kind": "release", "local": True, "dev": False, "staging": False, "production": False}]  # fmt: skip
    confirm(admin_client, preview(admin_client, "matrix.json", json.dumps(rows), fmt="json"))
    assert state("darkMode", "dev").enabled is False


BAD_FILES = {
    "unknown environment": (HEADER.replace("production", "qa")
                            + "reviews,commerce,x,commerce,release,true,true,true,false\n", "qa"),
    "not a boolean": (HEADER + "reviews,commerce,x,commerce,release,true,maybe,true,false\n", "is not a boolean"),
    "unknown category": (HEADER + "reviews,gadgets,x,commerce,release,true,true,true,false\n", "gadgets"),
    "duplicate key": (HEADER + "reviews,commerce,x,commerce,release,true,true,true,false\n"
                      "reviews,commerce,x,commerce,release,false,false,false,false\n", "Duplicate key"),
    "not utf-8": ((HEADER + "reviews,commerce,Caf\xe9,commerce,release,true,true,true,false\n").encode("latin-1"),
                  "encountered while trying to read file"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_import__bad_file__row_errors_shown_no_confirm_and_nothing_changes(seeded, admin_client, case):
    content, message = BAD_FILES[case]
    before = snapshot()
    response = preview(admin_client, "bad.csv", content)
    body = response.content.decode()
    assert message in body
    assert "Confirm import" not in body
    assert snapshot() == before


# --- Imports behind permissions, through the services ------------------------------------------------------------

ISSUE_FILE = HEADER + (
    "giftWrap,commerce,Gift wrapping,commerce,release,true,true,true,true\n"
    "reviews,commerce,Product reviews,someone-else,kill_switch,true,true,false,false\n"
)


def test_import__view_only_login__refused_with_a_message_and_nothing_written(seeded, client, viewer):
    # Given a login that may view flags and change nothing
    client.force_login(viewer)
    before = snapshot()
    # When it uploads a file that adds a flag on in production and turns an existing one into a kill switch
    response = preview(client, "matrix.csv", ISSUE_FILE)
    # Then the import is refused with a message naming what is missing, and nothing changed
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "You may not import flags" in page and "flags.change_flag" in page
    assert snapshot() == before
    assert not Flag.objects.filter(key="giftWrap").exists()


def test_import__view_only_login__confirm_step_posted_directly__refused(seeded, client, viewer):
    client.force_login(viewer)
    before = snapshot()
    response = client.post(
        "/admin/flags/flag/process_import/",
        {"import_file_name": "x.csv", "original_file_name": "x.csv", "format": "0", "resource": "0"},
    )
    assert response.status_code == 302
    assert snapshot() == before


def test_import__new_flag_on_in_production__cells_by_rule_and_production_a_change_request(seeded, admin_client):
    # Given the file of the issue: a new flag on everywhere, production included
    # When an administrator imports it
    confirm(admin_client, preview(admin_client, "matrix.csv", ISSUE_FILE))
    # Then the new flag is off in production until a second person approves its change request
    assert state("giftWrap", "production").enabled is False
    assert state("giftWrap", "staging").enabled is True
    request = ChangeRequest.objects.get(state=state("giftWrap", "production"))
    assert (request.enabled, request.source) == (True, "import")
    # And the staging cell went through set_state: created by the rule, then changed with reason "import"
    reasons = list(
        FlagState.history.filter(id=state("giftWrap", "staging").pk).order_by("history_id")
        .values_list("history_change_reason", "enabled")
    )  # fmt: skip
    assert reasons == [("new flag", False), ("import", True)]


def test_import__flag_editor_without_add_permission__new_flag_row_refused_nothing_written(seeded, client, carol):
    # Given carol may change flags and their values outside production, but not add flags
    client.force_login(carol)
    before = snapshot()
    response = preview(client, "matrix.csv", HEADER + "giftWrap,commerce,Gift,commerce,release,true,true,false,false\n")
    body = response.content.decode()
    assert "may not add flags" in body and "Confirm import" not in body
    assert snapshot() == before


def test_import__editor_without_production_permission__production_cell_refused(seeded, client, carol):
    client.force_login(carol)
    before = snapshot()
    response = preview(client, "matrix.csv", HEADER + "reviews,commerce,Product reviews,commerce,release,"
                       "true,true,false,true\n")  # fmt: skip
    body = response.content.decode()
    assert "Changing production needs" in body and "Confirm import" not in body
    assert snapshot() == before
