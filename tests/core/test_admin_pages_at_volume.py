"""Issue 19: the admin pages a year of data made slow ask the same number of queries for 2 rows as for 20.

In-process and cheap: each test counts a page's queries with 2 rows, adds 18, and allows no more queries.
The timings at a year of data belong to the bench (`python -m bench admin_pages`), not here.
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from backups.models import BackupRun, ProtectedDatabase, RpoCheck
from deployments.models import Deployment, DeploymentStep, Release, Slot
from environments.models import Environment
from flags.models import FlagState
from migrations_log.models import LintFinding, Migration, MigrationRun, MigrationSet
from refreshes.models import RefreshRun

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """The strategy seeded once for the module, in a transaction rolled back at its end (each test: a savepoint)."""
    from core.seeding import seed_all

    with django_db_blocker.unblock(), transaction.atomic():
        seed_all()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db):
    """Overrides the shared `seeded` here: the module's seed, not one per test."""


@pytest.fixture
def admin_client(client, seeded, superuser):
    client.force_login(superuser)
    return client


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def assert_flat(client, url, add_rows, django_assert_max_num_queries):
    """Given 2 rows, when 18 more are added, then the page asks no more queries than before."""
    add_rows(2)
    with_two = queries(client, url)
    add_rows(18)
    with django_assert_max_num_queries(with_two):
        assert client.get(url).status_code == 200


def _release(version):
    return Release.objects.create(version=version, ref=version, ref_kind="tag")


class Migrations:
    """A release's migrations, each in its set, with a lint finding and a verified run per migration target."""

    def __init__(self, user):
        self.user, self.release, self.count = user, _release("v9.0"), 0
        self.environments = list(Environment.objects.filter(migration_target__isnull=False))

    def __call__(self, n):
        now = timezone.now()
        for _ in range(n):
            self.count += 1
            migration = Migration.objects.create(
                identifier=f"{self.count:04d}_step", sequence=self.count, release=self.release, sql="SELECT 1;",
                sha256="0" * 64, classification="additive", estimate_seconds=1.0,
            )  # fmt: skip
            MigrationSet.record(self.release, Migration.objects.filter(release=self.release))
            LintFinding.objects.create(migration=migration, line=1, rule="r", severity="warning", message="m",
                                       acknowledged_by=self.user)  # fmt: skip
            for environment in self.environments:
                MigrationRun.objects.create(migration=migration, environment=environment, status="applied",
                                            started_at=now, duration_seconds=3.0, actor="person", user=self.user,
                                            verified_by=self.user, verified_at=now)  # fmt: skip


@pytest.mark.parametrize(
    "page",
    ["migrations_log_migration_changelist", "migrations_log_migrationrun_changelist",
     "migrations_log_lintfinding_changelist"],
)  # fmt: skip
def test_migration_lists__more_rows__no_more_queries(admin_client, superuser, page, django_assert_max_num_queries):
    # Given a release's migrations with runs and findings; when it holds 20, then its lists ask what they did at 2
    assert_flat(admin_client, reverse(f"admin:{page}"), Migrations(superuser), django_assert_max_num_queries)


def test_migrations_matrix__more_migrations__no_more_queries(admin_client, superuser, django_assert_max_num_queries):
    # Given a release whose runs are slow and verified (each cell reads its migration and verifier)
    migrations = Migrations(superuser)
    url = reverse("admin:migrations_log_release_matrix", args=[migrations.release.pk])
    # When it grows from 2 to 20 migrations, then the matrix asks no more queries
    assert_flat(admin_client, url, migrations, django_assert_max_num_queries)


def test_release_filter__lists_recent_releases_only__and_the_chosen_one(admin_client, superuser):
    # Given 25 releases with a migration each, the oldest first
    migrations = Migrations(superuser)
    for i in range(25):
        migrations.release = _release(f"v1.{i}")
        migrations(1)
    oldest = Release.objects.get(version="v1.0")
    url = reverse("admin:migrations_log_migration_changelist")
    # When the list is shown, then its filter offers the 20 recent releases, not the oldest
    page = admin_client.get(url).content.decode()
    assert "v1.24" in page and f"?release={oldest.pk}" not in page
    # When the oldest is chosen, then it is offered and the list holds its migration only
    response = admin_client.get(url, {"release": oldest.pk})
    assert f"?release={oldest.pk}" in response.content.decode()
    assert [m.release_id for m in response.context["cl"].result_list] == [oldest.pk]


def test_release_filter__not_an_id__refused_and_nothing_listed(admin_client, superuser):
    # Given the migration list of a release; when the release filter is not a number
    Migrations(superuser)(1)
    response = admin_client.get(reverse("admin:migrations_log_migration_changelist"), {"release": "v1.0"})
    # Then the admin refuses the lookup as it does any bad one (its error page), rather than failing
    assert response.status_code == 302 and "e=1" in response["Location"]


def test_rpo_check_list__more_checks__no_more_queries(admin_client, django_assert_max_num_queries):
    database = ProtectedDatabase.objects.select_related("environment").first()
    now = timezone.now()

    def add(n):
        RpoCheck.objects.bulk_create(
            RpoCheck(database=database, checked_at=now - timedelta(minutes=i), ok=True) for i in range(n)
        )

    assert_flat(admin_client, reverse("admin:backups_rpocheck_changelist"), add, django_assert_max_num_queries)


def test_deployment_list__more_deployments__no_more_queries(admin_client, django_assert_max_num_queries):
    environment = Environment.objects.get(key="dev")

    def add(n):
        for _ in range(n):
            release = _release(f"v{uuid.uuid4().hex[:8]}")
            deployment = Deployment.objects.create(
                release=release, environment=environment, status="succeeded", strategy="direct"
            )
            DeploymentStep.objects.create(deployment=deployment, order=1, name="deploy", status="passed")

    assert_flat(admin_client, reverse("admin:deployments_deployment_changelist"), add, django_assert_max_num_queries)


def test_deployment_list__progress__counts_done_steps_of_each_deployment(admin_client):
    # Given a deployment with one passed and one pending step
    deployment = Deployment.objects.create(release=_release("v7.0"), environment=Environment.objects.get(key="dev"),
                                           status="succeeded", strategy="direct")  # fmt: skip
    DeploymentStep.objects.create(deployment=deployment, order=1, name="a", status="passed")
    DeploymentStep.objects.create(deployment=deployment, order=2, name="b", status="pending")
    # When the list is shown, then its progress reads 1/2
    row = admin_client.get(reverse("admin:deployments_deployment_changelist")).context["cl"].result_list[0]
    assert (row.steps_passed, row.steps_total) == (1, 2)


def test_deployment_start__search__offers_the_rules_releases_newest_first(admin_client):
    # Given 60 tag releases and a branch one; production deploys from tag v*
    releases = [_release(f"v3.{i}") for i in range(60)]
    Release.objects.create(version="rc-3", ref="release/3", ref_kind="branch")
    production = Environment.objects.get(key="production")
    url = reverse("admin:deployments_deployment_start_options")
    # When the start form asks with nothing typed, then it gets the newest 20 the rule allows, not a year of them
    offered = [r["version"] for r in admin_client.get(url, {"environment": production.pk}).json()["releases"]]
    assert len(offered) == 20 and offered[0] == "v3.59" and "rc-3" not in offered
    # When the oldest is typed, then it is found
    found = admin_client.get(url, {"environment": production.pk, "q": "v3.0"}).json()["releases"]
    assert [r["version"] for r in found] == [releases[0].version]
    # And a branch release is never offered for production, even when typed
    assert admin_client.get(url, {"environment": production.pk, "q": "rc"}).json()["releases"] == []


def test_flag_page__more_changes__no_more_queries(admin_client, django_assert_max_num_queries):
    state = FlagState.objects.select_related("flag").exclude(environment__key="production").first()

    def add(n):
        for _ in range(n):
            state.enabled = not state.enabled
            state.save()

    url = reverse("admin:flags_flag_change", args=[state.flag_id])
    assert_flat(admin_client, url, add, django_assert_max_num_queries)


def test_flag_audit__old_and_new_values__from_the_cells_previous_record(admin_client):
    from flags.services import audit_rows

    # Given a cell flipped on then off
    state = FlagState.objects.select_related("flag").exclude(environment__key="production").first()
    first = state.enabled
    for value in (not first, first):
        state.enabled = value
        state.save()
    # Then the audit reads newest first: (not first → first), (first → not first)
    rows = [r for r in audit_rows(state.flag) if r["environment"].pk == state.environment_id]
    assert [(r["old"], r["new"], r["revertible"]) for r in rows[:2]] == [(not first, first, True),
                                                                         (first, not first, True)]  # fmt: skip


def test_slot_history__more_records__no_more_queries(admin_client, django_assert_max_num_queries):
    slot = Slot.objects.create(environment=Environment.objects.get(key="production"), color="blue",
                               address="127.0.0.1:8001", server_name="blue")  # fmt: skip

    def add(n):
        for i in range(n):
            slot.server_name = f"s{i}"
            slot.save()

    url = reverse("admin:deployments_slot_history", args=[slot.pk])
    assert_flat(admin_client, url, add, django_assert_max_num_queries)


@pytest.mark.parametrize("search", ["", "backups.check_rpo"])
def test_task_result_list__more_results__no_more_queries(admin_client, search, django_assert_max_num_queries):
    def add(n):
        TaskResult.objects.bulk_create(
            TaskResult(task_id=uuid.uuid4().hex, task_name="backups.check_rpo", status="SUCCESS") for _ in range(n)
        )

    url = reverse("admin:django_celery_results_taskresult_changelist") + (f"?q={search}" if search else "")
    assert_flat(admin_client, url, add, django_assert_max_num_queries)


def test_task_result_search__exact_task_name_or_id(admin_client):
    # Given two results of different tasks
    wanted = TaskResult.objects.create(task_id="abc-1", task_name="backups.check_rpo", status="SUCCESS")
    TaskResult.objects.create(task_id="abc-2", task_name="backups.check_rpo_later", status="SUCCESS")
    url = reverse("admin:django_celery_results_taskresult_changelist")
    # When searched by exact name, or by id, then only that result is listed
    for term in ("backups.check_rpo", "abc-1"):
        assert list(admin_client.get(url, {"q": term}).context["cl"].result_list) == [wanted]


def test_dashboard__years_of_refresh_runs__no_more_queries(admin_client, django_assert_max_num_queries):
    environments = [e for e in Environment.objects.all() if e.data_max_age is not None]
    now = timezone.now()

    def add(n):
        for environment in environments:
            RefreshRun.objects.bulk_create(
                RefreshRun(
                    kind="staging_refresh",
                    environment=environment,
                    status="succeeded",
                    finished_at=now - timedelta(days=i),
                )
                for i in range(n)  # fmt: skip
            )

    assert_flat(admin_client, reverse("admin:index"), add, django_assert_max_num_queries)


def test_latest_runs__the_last_succeeded_run_per_environment(seeded):
    from refreshes.services import latest_runs

    # Given staging with an older and a newer succeeded run, a newer failed one, and dev with none
    staging, dev = Environment.objects.get(key="staging"), Environment.objects.get(key="dev")
    now = timezone.now()

    def run(status, days_ago):
        return RefreshRun.objects.create(kind="staging_refresh", environment=staging, status=status,
                                         finished_at=now - timedelta(days=days_ago))  # fmt: skip

    run("succeeded", 3)
    newer = run("succeeded", 2)
    run("failed", 1)
    # When the latest succeeded runs are asked for, then staging's is the newer one and dev has none
    assert latest_runs([staging.pk, dev.pk], status="succeeded") == {staging.pk: newer}


def _protect(environment, now):
    """A protected database for `environment` with a good full backup, verified, and a recent RPO check."""
    from backups.strategy import PRODUCTION_DATABASE

    production = ProtectedDatabase.objects.get(environment__key="production")
    database, _ = ProtectedDatabase.objects.get_or_create(
        environment=environment,
        defaults={**PRODUCTION_DATABASE, "stanza": f"amarise-{environment.key}", "policy_id": production.policy_id},
    )
    BackupRun.objects.create(database=database, type="full", status="good", label=f"{environment.key}F",
                             finished_at=now, verified_at=now, verification="passed")  # fmt: skip
    RpoCheck.objects.create(database=database, checked_at=now, ok=True, detail="fine")
    return database


def test_protected_database_list__more_databases__no_more_queries(admin_client, django_assert_max_num_queries):
    now = timezone.now()
    environments = list(Environment.objects.order_by("order"))
    # Given two protected databases with backups and checks
    for environment in environments[:2]:
        _protect(environment, now)
    url = reverse("admin:backups_protecteddatabase_changelist")
    with_two = queries(admin_client, url)
    # When every environment has one, then the list asks no more queries
    for environment in environments[2:]:
        _protect(environment, now)
    assert len(environments) > 2
    with django_assert_max_num_queries(with_two):
        assert admin_client.get(url).status_code == 200


def test_statuses__same_findings_as_status_one_by_one(seeded):
    from backups import monitor

    # Given databases with and without backups and checks
    now = timezone.now()
    databases = [_protect(e, now) for e in Environment.objects.order_by("order")[:2]]
    databases += list(ProtectedDatabase.objects.exclude(pk__in=[d.pk for d in databases]))
    # When their statuses are taken together, then each equals its own status()
    together = monitor.statuses(databases, now=now)
    assert together == {d.pk: monitor.status(d, now=now) for d in databases}
    assert any(f.ok for f in together[databases[0].pk])


def test_paginator__deep_page_by_ids__same_rows_as_plain_slicing(monkeypatch):
    from django.core.paginator import Paginator

    from core import paginators

    # Given 20 results, and every page counted as "deep"
    TaskResult.objects.bulk_create(TaskResult(task_id=f"t{i}", task_name="x", status="SUCCESS") for i in range(20))
    monkeypatch.setattr(paginators, "DEEP_OFFSET", 0)
    results = TaskResult.objects.order_by("-date_done", "-pk")
    # When page 3 of 5 is read both ways, then it holds the same rows in the same order, and the count is exact
    deep = paginators.EstimatedCountPaginator(results, 5)
    assert list(deep.page(3)) == list(Paginator(results, 5).page(3))
    assert deep.count == 20


def test_paginator__large_filtered_list__counted_by_the_plans_estimate(monkeypatch):
    from core import paginators

    # Given any filtered list over the threshold (here: every list)
    monkeypatch.setattr(paginators, "EXACT_BELOW", 0)
    TaskResult.objects.bulk_create(TaskResult(task_id=f"t{i}", task_name="x", status="SUCCESS") for i in range(3))
    filtered = TaskResult.objects.filter(task_name="x").order_by("-pk")
    # Then its count is the planner's estimate, a whole number, without counting the rows
    with CaptureQueriesContext(connection) as captured:
        count = paginators.EstimatedCountPaginator(filtered, 5).count
    assert isinstance(count, int) and count >= 0
    assert captured.captured_queries[0]["sql"].startswith("EXPLAIN")
