"""The admin: per-release matrix, a migration's history, verify and acknowledge actions, upload."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from environments.models import Environment
from migrations_log.executor import apply_pending
from migrations_log.models import LintFinding, Migration, MigrationRun, ReverseMigration
from migrations_log.services import register_release
from tests.migrations_log.helpers import BASE, release


@pytest.fixture
def admin_client_(seeded, client, superuser):
    client.force_login(superuser)
    return client


def test_matrix__runs_per_environment__shown_with_findings_and_promotion(targets, admin_client_):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=Environment.objects.get(key="staging"))

    page = admin_client_.get(reverse("admin:migrations_log_release_matrix", args=[release("2.0").pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "0001_add_gift_wrap" in html and "require-lock-timeout" in html
    staging_cells = html.split('data-environment="staging">')[1:3]
    assert all("Applied" in cell.split("</td>")[0] for cell in staging_cells)
    dev_cells = html.split('data-environment="dev">')[1:3]
    assert all("pending" in cell.split("</td>")[0] for cell in dev_cells)
    assert "Not reported tested locally by CI" in html


def test_migration_change__history_across_environments(targets, admin_client_):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    for key in ("dev", "staging"):
        apply_pending(release=release("2.0"), environment=Environment.objects.get(key=key))
    migration = Migration.objects.get(identifier="0001_add_gift_wrap")
    html = admin_client_.get(reverse("admin:migrations_log_migration_change", args=[migration.pk])).content.decode()
    assert html.index("Dev") < html.index("Staging") and html.count("Applied") >= 2


def test_verify_action__staging_runs_verified(targets, admin_client_):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=Environment.objects.get(key="staging"))
    ids = list(MigrationRun.objects.values_list("pk", flat=True))
    admin_client_.post(
        reverse("admin:migrations_log_migrationrun_changelist"), {"action": "verify_runs", "_selected_action": ids}
    )
    assert MigrationRun.objects.filter(verified_at__isnull=False).count() == 2


def test_acknowledge_action__reason_from_the_form__without_permission_refused(seeded, client, people, make_user):
    register_release(version="2.0", files={"0001_i.sql": "CREATE INDEX i ON orders (total);\n"})
    finding = LintFinding.objects.get(rule="require-concurrent-index-creation")
    url = reverse("admin:migrations_log_lintfinding_changelist")
    payload = {"action": "acknowledge_warnings", "_selected_action": [finding.pk], "reason": "tiny table"}

    # A staff member who may view findings but not acknowledge them.
    client.force_login(make_user("viewer", "migrations_log.view_lintfinding", "migrations_log.change_lintfinding"))
    client.post(url, payload)
    finding.refresh_from_db()
    assert finding.acknowledged_at is None

    people["verifier"].user_permissions.add(
        *Permission.objects.filter(codename__in=["view_lintfinding", "change_lintfinding"])
    )
    client.force_login(User.objects.get(pk=people["verifier"].pk))
    client.post(url, payload)
    finding.refresh_from_db()
    assert finding.acknowledgement_reason == "tiny table"


def test_reverse_action__draft_recorded(seeded, admin_client_):
    register_release(version="2.0", files=BASE)
    migration = Migration.objects.get(identifier="0002_create_wishlists")
    admin_client_.post(
        reverse("admin:migrations_log_migration_changelist"),
        {"action": "create_reverse_migration", "_selected_action": [migration.pk]},
    )
    assert ReverseMigration.objects.get().identifier == "0003_reverse_create_wishlists"


def test_upload__files__registered_then_matrix(seeded, admin_client_):
    files = [SimpleUploadedFile(name, sql.encode()) for name, sql in BASE.items()]
    response = admin_client_.post(
        reverse("admin:migrations_log_upload"),
        {"version": "2.0", "ref": "release/2.0", "ref_kind": "branch", "files": files},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Migration.objects.count() == 2 and release("2.0").ref == "release/2.0"


def test_upload__refused__form_shows_rule_nothing_registered(seeded, admin_client_):
    bad = SimpleUploadedFile("0001_x.sql", b"BEGIN;\nSELECT 1;\nCOMMIT;\n")
    response = admin_client_.post(reverse("admin:migrations_log_upload"), {"version": "2.0", "files": [bad]})
    assert response.status_code == 200 and "remove BEGIN" in response.content.decode()
    assert not Migration.objects.exists()


def test_migration_admin__no_delete_no_add(seeded, admin_client_):
    register_release(version="2.0", files=BASE)
    migration = Migration.objects.first()
    assert admin_client_.get(reverse("admin:migrations_log_migration_delete", args=[migration.pk])).status_code == 403
    assert admin_client_.get(reverse("admin:migrations_log_migration_add")).status_code == 403


def test_run_list__slower_than_twice_the_estimate__flagged(targets, admin_client_):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=Environment.objects.get(key="staging"))
    MigrationRun.objects.filter(migration__identifier="0001_add_gift_wrap").update(duration_seconds=2.5)
    MigrationRun.objects.filter(migration__identifier="0002_create_wishlists").update(duration_seconds=1.5)
    html = admin_client_.get(reverse("admin:migrations_log_migrationrun_changelist")).content.decode()
    assert "1 s → 2.5 s (over twice the estimate)" in html
    assert "1 s → 1.5 s</td>" in html


def test_dashboard__staging_card__schema_and_runs_to_verify(targets, admin_client_):
    register_release(version="2.0", files=BASE, ref="release/2.0", ref_kind="branch")
    apply_pending(release=release("2.0"), environment=Environment.objects.get(key="staging"))
    html = admin_client_.get(reverse("admin:index")).content.decode()
    staging_card = html.split('data-environment="staging"')[1].split("</article>")[0]
    assert "0002_create_wishlists" in staging_card and "Migrations to verify" in staging_card
    production_card = html.split('data-environment="production"')[1].split("</article>")[0]
    assert "Migrations to verify" not in production_card
