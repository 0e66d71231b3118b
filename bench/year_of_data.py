"""A year of the console's operation, loaded with fast SQL (INSERT … SELECT generate_series) at the issue's volumes.

At --scale 1.0 (issue 19): 1.05M RPO checks (2 databases, one a minute), 1.05M metric samples, 1.18M
Celery task results, 7,300 releases and deployments with their steps, events, checklists and migration sets
(420 span rows: stored whole, as before, the sets took 1.53M rows), 1,126 incidents, 200k flag history
rows, 2,920 backup runs, and three years of refreshes. Every volume is multiplied by --scale, except the
420 migrations: a release's migration set stays the size a year makes it, so the matrix page's cost shows
even at 1%.

Rows respect the models' constraints (one active deployment per environment: none is left active; one
applied run per migration and environment; one in-flight backup per database: none) and point at real
rows. Tables the generator does not know (added later) stay empty; columns it does not know get their
defaults (bench/sqlfill.py).

    python -m bench.year_of_data --scale 0.01    # into a fresh `<DATABASE_URL's name>_year`, kept for a look
"""

import argparse
import os
import sys
import time
from datetime import timedelta

YEAR = timedelta(days=365)
MIGRATIONS = 420
# At scale 1.0.
VOLUMES = {
    "releases": 7_300,
    "rpo_checks_per_database": 525_600,
    "metric_samples": 1_050_000,
    "task_results": 1_180_000,
    "incidents": 1_126,
    "flag_history": 200_000,
    "backup_runs_per_database": 1_460,
    "drills_per_database": 52,
    "refresh_weeks": 156,
}
USERS = ["ana", "ben", "chloe", "dan", "eva", "femi", "gus", "hana"]
TASK_NAMES = [
    "backups.check_rpo",
    "backups.reconcile_runs",
    "environments.check_environment_health",
    "flags.apply_due_scheduled_changes",
    "deployments.tick",
    "incidents.send_reminders",
]


def _ts(moment):
    return f"'{moment.isoformat()}'::timestamptz"


def _case(index_sql, mapping, default="NULL"):
    """CASE over `index_sql % 10`: mapping is [(upper bound exclusive, SQL value)]."""
    whens = " ".join(f"WHEN ({index_sql}) % 10 < {bound} THEN {value}" for bound, value in mapping)
    return f"CASE {whens} ELSE {default} END"


class Year:
    def __init__(self, scale, *, say=print):
        from django.utils import timezone

        self.scale = scale
        self.say = say
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - YEAR
        self.counts = {}

    def n(self, name, minimum=1):
        return max(minimum, round(VOLUMES[name] * self.scale))

    def step(self, label, fn):
        started = time.perf_counter()
        rows = fn()
        self.counts[label] = rows
        self.say(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f}s")

    def load(self):
        from django.db import connection, transaction

        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            self._people_and_places()
            for label, fn in [
                ("releases", self.releases),
                ("deployments", self.deployments),
                ("deployment steps", self.deployment_steps),
                ("deployment events", self.deployment_events),
                ("deployment checklists", self.deployment_checklists),
                ("metric samples", self.metric_samples),
                ("slot history", self.slot_history),
                ("incidents", self.incidents),
                ("incident timelines, notifications, history", self.incident_children),
                ("migrations, lint findings, history", self.migrations),
                ("release migration sets", self.migration_sets),
                ("migration spans (the sets' contents)", self.migration_spans),
                ("migration runs and history", self.migration_runs),
                ("flag history", self.flag_history),
                ("RPO checks", self.rpo_checks),
                ("backup runs and events", self.backup_runs),
                ("restore drills", self.drills),
                ("Celery task results", self.task_results),
                ("refresh runs, steps, events", self.refresh_runs),
            ]:
                self.step(label, fn)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # a year-old database has been vacuumed and analysed
        self.say(f"  vacuum analyze: {time.perf_counter() - started:.1f}s")
        return self.counts

    # --- reference rows, through the ORM (a handful) -------------------------------------------------------

    def _people_and_places(self):
        from django.contrib.auth import get_user_model

        from backups.models import BackupPolicy, ProtectedDatabase
        from deployments.models import Slot
        from environments.models import Environment

        user_model = get_user_model()
        self.users = [user_model.objects.get_or_create(username=name)[0].pk for name in USERS]
        self.env = dict(Environment.objects.values_list("key", "pk"))
        self.slots = {}
        for key in ("staging", "production"):
            for color, last in (("blue", 1), ("green", 2)):
                slot, _ = Slot.objects.get_or_create(
                    environment_id=self.env[key], color=color,
                    defaults={"address": f"10.0.{self.env[key]}.{last}:8080", "server_name": color},
                )  # fmt: skip
                self.slots[key, color] = slot.pk
        policy = BackupPolicy.objects.first()
        if not ProtectedDatabase.objects.filter(environment_id=self.env["staging"]).exists():
            ProtectedDatabase.objects.create(
                environment_id=self.env["staging"], policy=policy, stanza="bench-staging",
                data_directory="/var/lib/postgresql/15/staging", work_dir="/var/lib/ops/backups/staging",
                repo1_path="/var/lib/pgbackrest/staging",
            )  # fmt: skip
        self.databases = list(ProtectedDatabase.objects.order_by("pk").values_list("pk", flat=True))

    def _user(self, index_sql):
        users = ",".join(str(u) for u in self.users)
        return f"(ARRAY[{users}])[({index_sql}) % {len(self.users)} + 1]"

    def _env_of(self, index_sql):
        # 60% of releases go to dev, 30% to staging, 10% to production.
        return _case(index_sql, [(6, self.env["dev"]), (9, self.env["staging"])], default=self.env["production"])

    # --- deployments -----------------------------------------------------------------------------------------

    def releases(self):
        from deployments.models import Release

        count = self.n("releases", minimum=20)
        step = YEAR / count
        kind = _case("i", [(9, "'branch'")], default="'tag'")
        ref = _case("i", [(6, "'main'"), (9, "'release/' || i")], default="'v2026.' || i")
        return fill(
            Release,
            {"version": "'2026.' || lpad(i::text, 5, '0')", "ref": ref, "ref_kind": kind, "commit": "md5(i::text)",
             "changelog": "'Changes of release ' || i", "source": _case("i", [(6, "'hook'")], default="'person'"),
             "created_by": self._user("i"),
             "created_at": f"{_ts(self.start)} + i * interval '{step.total_seconds()} seconds'"},
            f"FROM generate_series(0, {count - 1}) i",
        )  # fmt: skip

    def _deployment_source(self):
        return (
            "FROM (SELECT r.id AS rid, r.created_at AS rat, (row_number() OVER (ORDER BY r.id) - 1)::int AS i "
            "FROM deployments_release r WHERE r.version LIKE '2026.%') s"
        )

    def deployments(self):
        from deployments.models import Deployment

        blue_green = "i % 10 >= 6"
        to_color = "(i / 10) % 2 = 0"
        to_slot = (
            f"CASE WHEN NOT ({blue_green}) THEN NULL WHEN i % 10 < 9 THEN "
            f"(CASE WHEN {to_color} THEN {self.slots['staging', 'blue']} ELSE {self.slots['staging', 'green']} END) "
            f"ELSE (CASE WHEN {to_color} THEN {self.slots['production', 'blue']} "
            f"ELSE {self.slots['production', 'green']} END) END"
        )
        from_slot = (
            f"CASE WHEN NOT ({blue_green}) THEN NULL WHEN i % 10 < 9 THEN "
            f"(CASE WHEN {to_color} THEN {self.slots['staging', 'green']} ELSE {self.slots['staging', 'blue']} END) "
            f"ELSE (CASE WHEN {to_color} THEN {self.slots['production', 'green']} "
            f"ELSE {self.slots['production', 'blue']} END) END"
        )
        # Every deployment is finished: the one-active-per-environment constraint holds trivially.
        status = (
            "CASE WHEN i % 20 IN (7, 19) THEN 'rolled_back' WHEN i % 50 = 3 THEN 'failed' "
            "WHEN i % 100 = 11 THEN 'aborted' ELSE 'succeeded' END"
        )
        rolled = "i % 20 IN (7, 19)"
        return fill(
            Deployment,
            {"release": "rid", "environment": self._env_of("i"), "status": status,
             "strategy": f"CASE WHEN {blue_green} THEN 'blue_green' ELSE 'direct' END",
             "from_slot": from_slot, "to_slot": to_slot, "created_by": self._user("i"),
             "created_at": "rat + interval '5 minutes'", "started_at": "rat + interval '6 minutes'",
             "finished_at": "rat + interval '21 minutes'", "heartbeat_at": "rat + interval '21 minutes'",
             "traffic_weight": f"CASE WHEN {blue_green} AND NOT ({rolled}) THEN 100 ELSE 0 END",
             "traffic_step": f"CASE WHEN {blue_green} THEN 2 ELSE -1 END", "health_passes": "3",
             "detected_at": f"CASE WHEN {rolled} THEN rat + interval '16 minutes' END",
             "decided_at": f"CASE WHEN {rolled} THEN rat + interval '16 minutes 5 seconds' END",
             "executed_at": f"CASE WHEN {rolled} THEN rat + interval '16 minutes 20 seconds' END",
             "rollback_automatic": rolled,
             "rollback_reason": f"CASE WHEN {rolled} THEN '5xx error rate 7.2% over 5% for 60s' ELSE '' END"},
            self._deployment_source(),
        )  # fmt: skip

    def deployment_steps(self):
        from deployments.models import DeploymentStep

        names = (
            "ARRAY['deploy','apply_migrations','smoke_tests','health_checks','traffic_10','traffic_50','traffic_100']"
        )
        return fill(
            DeploymentStep,
            {"deployment": "d.id", "name": "n.name", "order": "n.ord - 1",
             "status": "CASE WHEN d.status = 'aborted' THEN 'skipped' ELSE 'passed' END",
             "started_at": "d.started_at + (n.ord - 1) * interval '2 minutes'",
             "finished_at": "d.started_at + n.ord * interval '2 minutes'", "attempts": "1",
             "output": "'ok: ' || n.name"},
            f"FROM deployments_deployment d CROSS JOIN unnest({names}) WITH ORDINALITY AS n(name, ord) "
            "WHERE d.strategy = 'blue_green' OR n.ord <= 4",
        )  # fmt: skip

    def deployment_events(self):
        from deployments.models import DeploymentEvent

        statuses = ("ARRAY['pending','deploying','smoke_testing','health_checking','shifting_traffic','verifying',"
                    "'succeeded','succeeded','succeeded','succeeded','succeeded']")  # fmt: skip
        return fill(
            DeploymentEvent,
            {"deployment": "d.id", "at": "d.started_at + k * interval '90 seconds'",
             "actor": "CASE WHEN k = 1 THEN 'person' ELSE 'engine' END",
             "user": f"CASE WHEN k = 1 THEN {self._user('d.id')} END",
             "kind": "CASE WHEN k <= 6 THEN 'transition' ELSE 'step' END",
             "old_status": f"CASE WHEN k <= 6 THEN ({statuses})[k] ELSE '' END",
             "new_status": f"CASE WHEN k <= 6 THEN ({statuses})[k + 1] ELSE '' END",
             "detail": "'event ' || k || ' of deployment ' || d.id"},
            "FROM deployments_deployment d CROSS JOIN generate_series(1, 10) k",
        )  # fmt: skip

    def deployment_checklists(self):
        from deployments.models import DeploymentChecklistItem

        return fill(
            DeploymentChecklistItem,
            {"deployment": "d.id", "item": "c.id", "checked_at": "d.started_at - interval '1 minute'",
             "checked_by": self._user("d.id + c.id"), "source": "'person'"},
            f"FROM deployments_deployment d CROSS JOIN deployments_checklistitem c "
            f"WHERE d.environment_id = {self.env['production']}",
        )  # fmt: skip

    def metric_samples(self):
        from deployments.models import MetricSample

        blue_green = self.n("releases", minimum=20) * 4 // 10
        per_deployment = max(2, VOLUMES["metric_samples"] // (VOLUMES["releases"] * 4 // 10))
        self.say(f"  ({blue_green:,} blue-green deployments × {per_deployment} samples)")
        return fill(
            MetricSample,
            {"deployment": "d.id", "slot": "CASE WHEN k % 2 = 0 THEN d.to_slot_id ELSE d.from_slot_id END",
             "taken_at": "d.started_at + (k / 2) * interval '5 seconds'", "req_tot": "k * 50",
             "hrsp_5xx": "CASE WHEN d.status = 'rolled_back' THEN k * 4 ELSE k / 20 END",
             "weight": "CASE WHEN k % 2 = 0 THEN 50 ELSE 50 END", "server_status": "'UP'",
             "check_status": "'L7OK'", "p95_seconds": "0.18 + (k % 7) * 0.01"},
            f"FROM deployments_deployment d CROSS JOIN generate_series(0, {per_deployment - 1}) k "
            "WHERE d.strategy = 'blue_green'",
        )  # fmt: skip

    def slot_history(self):
        from deployments.models import Slot

        history = Slot.history.model
        return fill(
            history,
            {"id": "s.id", "environment": "s.environment_id", "color": "s.color", "address": "s.address",
             "server_name": "s.server_name", "release": "d.release_id",
             "role": "CASE WHEN s.id = d.to_slot_id THEN 'live' ELSE 'standby' END",
             "history_date": "d.finished_at", "history_type": "'~'", "history_user": "d.created_by_id"},
            "FROM deployments_deployment d JOIN deployments_slot s ON s.id IN (d.to_slot_id, d.from_slot_id) "
            "WHERE d.strategy = 'blue_green' ORDER BY d.finished_at",
        )  # fmt: skip

    # --- incidents ---------------------------------------------------------------------------------------------

    def incidents(self):
        from incidents.models import Incident

        severity = scalar('SELECT id FROM incidents_severity ORDER BY "order" LIMIT 1')
        total = self.n("incidents")
        rows = fill(
            Incident,
            {"title": "'Rollback of ' || r.version", "environment": "d.environment_id", "severity": str(severity),
             "status": "'postmortem_done'", "owner": self._user("d.id"), "deployment": "d.id",
             "release": "d.release_id", "cause": "'error_rate'", "opened_by": "'engine'",
             "opened_at": "d.executed_at", "started_at": "d.started_at + interval '8 minutes'",
             "detected_at": "d.detected_at", "decided_at": "d.decided_at", "executed_at": "d.executed_at",
             "resolved_at": "d.executed_at + interval '1 hour'", "root_cause": "'A bad release.'",
             "summary": "'Rolled back automatically.'", "postmortem_at": "d.executed_at + interval '2 days'"},
            f"FROM deployments_deployment d JOIN deployments_release r ON r.id = d.release_id "
            f"WHERE d.status = 'rolled_back' ORDER BY d.id LIMIT {total}",
        )  # fmt: skip
        manual = max(0, total - rows)
        step = YEAR / max(1, manual)
        rows += fill(
            Incident,
            {"title": "'Manual incident ' || k", "environment": str(self.env["production"]),
             "severity": str(severity), "status": "CASE WHEN k <= 3 THEN 'investigating' ELSE 'resolved' END",
             "owner": self._user("k"), "cause": "'manual'", "opened_by": "'person'",
             "opened_at": f"{_ts(self.now)} - k * interval '{step.total_seconds()} seconds'",
             "started_at": f"{_ts(self.now)} - k * interval '{step.total_seconds()} seconds' - interval '10 minutes'",
             "resolved_at": f"CASE WHEN k > 3 THEN {_ts(self.now)} - (k - 1) * interval '{step.total_seconds()} "
                            "seconds' END"},
            f"FROM generate_series(1, {manual}) k",
        )  # fmt: skip
        return rows

    def incident_children(self):
        from incidents.models import Incident, NotificationAttempt, TimelineEntry

        rows = fill(
            TimelineEntry,
            {"incident": "i.id", "at": "i.opened_at + k * interval '1 minute'",
             "source": "CASE WHEN k = 1 THEN 'engine' ELSE 'person' END",
             "user": f"CASE WHEN k > 1 THEN {self._user('i.id + k')} END", "kind": "'note'",
             "text": "'Timeline entry ' || k || ' of incident ' || i.id"},
            "FROM incidents_incident i CROSS JOIN generate_series(1, 5) k",
        )  # fmt: skip
        rows += fill(
            NotificationAttempt,
            {"incident": "i.id", "at": "i.opened_at + k * interval '10 seconds'",
             "channel": "CASE WHEN k = 3 THEN 'webhook' ELSE 'email' END", "event": "'opened'",
             "recipients": "'oncall@amarise.invalid'", "attempt": "1", "ok": "true", "final": "true"},
            "FROM incidents_incident i CROSS JOIN generate_series(1, 3) k",
        )  # fmt: skip
        return rows + fill_history(Incident, date_sql="b.opened_at", user_sql="b.owner_id")

    # --- migrations ---------------------------------------------------------------------------------------

    def migrations(self):
        from migrations_log.models import LintFinding, Migration

        releases = ids_of_bench_releases()
        count = self.n("releases", minimum=20)
        sql = "'ALTER TABLE orders ADD COLUMN note_' || j || ' text;'"
        rows = fill(
            Migration,
            {"identifier": "lpad((j + 1)::text, 4, '0') || '_bench_change_' || (j + 1)", "sequence": "j + 1",
             "release": f"a.ids[(j * {count}) / {MIGRATIONS} + 1]", "sql": sql,
             "sha256": f"encode(sha256(convert_to({sql}, 'UTF8')), 'hex')",
             "classification": "CASE WHEN j % 20 = 19 THEN 'deprecating' ELSE 'additive' END",
             "estimate_seconds": "0.5 + j % 7", "transactional": "true",
             "tested_locally_at": "r.created_at", "registered_at": "r.created_at"},
            f"FROM generate_series(0, {MIGRATIONS - 1}) j CROSS JOIN {releases} a "
            f"JOIN deployments_release r ON r.id = a.ids[(j * {count}) / {MIGRATIONS} + 1]",
        )  # fmt: skip
        rows += fill(
            LintFinding,
            {"migration": "m.id", "line": "1", "column": "0", "rule": "'adding-field-with-default'",
             "severity": "'warning'", "message": "'Adding a field with a default can lock the table.'"},
            "FROM migrations_log_migration m WHERE m.sequence % 3 = 0",
        )  # fmt: skip
        rows += fill_history(Migration, date_sql="b.registered_at")
        return rows + fill_history(LintFinding, date_sql=f"{_ts(self.now)}")

    def migration_sets(self):
        from migrations_log.models import MigrationSet

        # Each release registers its whole directory: every migration introduced by it or an earlier release.
        # Registered in release order, its set is a number and a size; what it holds lives in the spans.
        registrations = (
            "(SELECT r.id, row_number() OVER (ORDER BY r.id) AS seq FROM deployments_release r "
            "WHERE r.version LIKE '2026.%') s"
        )
        rows = fill(
            MigrationSet,
            {"release": "s.id", "seq": "s.seq",
             "size": "(SELECT count(*) FROM migrations_log_migration m WHERE m.release_id <= s.id)"},
            f"FROM {registrations}",
        )  # fmt: skip
        whole_copies = scalar("SELECT coalesce(sum(size), 0) FROM migrations_log_migrationset")
        self.say(f"  (stored as whole copies, as before issue 19, these sets would take {whole_copies:,} rows)")
        return rows

    def migration_spans(self):
        from migrations_log.models import MigrationSpan

        # Nothing is ever removed from a directory here: one open span per migration, from its release's number.
        rows = fill(
            MigrationSpan,
            {"migration": "m.id", "first_seq": "s.seq"},
            "FROM migrations_log_migration m JOIN migrations_log_migrationset s ON s.release_id = m.release_id",
        )
        return rows

    def migration_runs(self):
        from migrations_log.models import MigrationRun

        envs = f"(VALUES ({self.env['dev']}, 0), ({self.env['staging']}, 1), ({self.env['production']}, 2)) e(id, o)"
        common = {
            "migration": "m.id", "environment": "e.id", "actor": "'person'", "user": self._user("m.id + e.o"),
            "output": "'ALTER TABLE'",
            "started_at": "m.registered_at + e.o * interval '1 day'",
        }  # fmt: skip
        rows = fill(
            MigrationRun,
            {**common, "status": "'failed'", "duration_seconds": "0.2",
             "output": "'ERROR: lock timeout'", "started_at": "m.registered_at + interval '20 hours'"},
            f"FROM migrations_log_migration m CROSS JOIN {envs} WHERE e.o = 1 AND m.sequence % 10 = 0",
        )  # fmt: skip
        rows += fill(
            MigrationRun,
            {**common, "status": "'applied'",
             # Every 13th runs three times its estimate: the matrix marks it slow.
             "duration_seconds": "m.estimate_seconds * CASE WHEN m.sequence % 13 = 0 THEN 3 ELSE 1.1 END",
             "verified_by": f"CASE WHEN e.o = 1 THEN {self._user('m.id + 1')} END",
             "verified_at": "CASE WHEN e.o = 1 THEN m.registered_at + interval '1 day 2 hours' END"},
            f"FROM migrations_log_migration m CROSS JOIN {envs}",
        )  # fmt: skip
        return rows + fill_history(MigrationRun, date_sql="b.started_at", user_sql="b.user_id")

    # --- flags -------------------------------------------------------------------------------------------------

    def flag_history(self):
        from flags.models import FlagState

        count = self.n("flag_history")
        states = scalar("SELECT count(*) FROM flags_flagstate")
        step = YEAR / count
        return fill(
            FlagState.history.model,
            {"id": "s.id", "flag": "s.flag_id", "environment": "s.environment_id",
             "enabled": f"(n / {states}) % 2 = 0",
             "updated_at": f"{_ts(self.start)} + n * interval '{step.total_seconds()} seconds'",
             "history_date": f"{_ts(self.start)} + n * interval '{step.total_seconds()} seconds'",
             "history_type": "'~'", "history_user": self._user("n"),
             "history_change_reason": "'bench: a year of flag changes'"},
            f"FROM generate_series(0, {count - 1}) n JOIN (SELECT id, flag_id, environment_id, "  # noqa: S608 - numbers
            f"(row_number() OVER (ORDER BY id) - 1)::int AS k FROM flags_flagstate) s ON s.k = n % {states} "
            "ORDER BY n",
        )  # fmt: skip

    # --- backups -----------------------------------------------------------------------------------------------

    def rpo_checks(self):
        from backups.models import RpoCheck

        count = self.n("rpo_checks_per_database")
        databases = ",".join(str(d) for d in self.databases)
        return fill(
            RpoCheck,
            {"database": "db", "checked_at": f"{_ts(self.now)} - n * interval '1 minute'",
             "last_archived_wal": "lpad(upper(to_hex(1000000 - n)), 24, '0')",
             "last_archived_at": f"{_ts(self.now)} - n * interval '1 minute' - interval '30 seconds'",
             "archive_timeout": "interval '60 seconds'", "unarchived_bytes": "16777216",
             "worst_case_loss": "interval '90 seconds'", "archiving_failing": "n % 997 = 0", "ok": "n % 997 <> 0",
             "detail": "CASE WHEN n % 997 = 0 THEN 'archive_command failed' ELSE '' END"},
            f"FROM unnest(ARRAY[{databases}]) db CROSS JOIN generate_series(0, {count - 1}) n ORDER BY n DESC, db",
        )  # fmt: skip

    def backup_runs(self):
        from backups.models import BackupRun, BackupRunEvent

        count = self.n("backup_runs_per_database")
        databases = ",".join(str(d) for d in self.databases)
        created = f"{_ts(self.now)} - n * interval '6 hours'"
        rows = fill(
            BackupRun,
            {"database": "db", "type": "CASE WHEN n % 4 = 0 THEN 'full' ELSE 'incr' END",
             "status": "CASE WHEN n % 97 = 5 THEN 'failed' ELSE 'good' END", "requested_by": "'beat'",
             "created_at": created, "started_at": f"{created} + interval '5 seconds'",
             "finished_at": f"{created} + interval '14 minutes'", "heartbeat_at": f"{created} + interval '14 minutes'",
             "worker_host": "'worker-1'", "worker_pid": "4242",
             "label": "to_char(" + created + ", 'YYYYMMDD-HH24MISS') || CASE WHEN n % 4 = 0 THEN 'F' ELSE 'I' END",
             "repos_reached": "'[1, 2]'::jsonb", "size_bytes": "50000000000 + n * 1000",
             "repo_size_bytes": "CASE WHEN n % 4 = 0 THEN 9000000000 ELSE 400000000 END",
             "error": "CASE WHEN n % 97 = 5 THEN 'ERROR: [082]: WAL segment was not archived' ELSE '' END",
             "verification": "CASE WHEN n % 4 = 0 THEN 'passed' ELSE 'not_run' END"},
            f"FROM unnest(ARRAY[{databases}]) db CROSS JOIN generate_series(0, {count - 1}) n ORDER BY n DESC, db",
        )  # fmt: skip
        steps = "(VALUES (1, '', 'queued'), (2, 'queued', 'running'), (3, 'running', 'good')) s(k, old, new)"
        rows += fill(
            BackupRunEvent,
            {"run": "b.id", "at": "b.created_at + s.k * interval '1 minute'", "old_status": "s.old",
             "new_status": "CASE WHEN s.k = 3 THEN b.status ELSE s.new END", "actor": "'beat'",
             "reason": "'scheduled'"},
            f"FROM backups_backuprun b CROSS JOIN {steps}",
        )  # fmt: skip
        return rows

    def drills(self):
        from backups.models import RestoreDrill

        count = self.n("drills_per_database")
        databases = ",".join(str(d) for d in self.databases)
        created = f"{_ts(self.now)} - n * interval '7 days'"
        return fill(
            RestoreDrill,
            {"database": "db", "kind": "'drill'", "status": "'passed'", "repo": "1 + n % 2",
             "requested_by": "'beat'", "created_at": created, "started_at": created,
             "serving_at": f"{created} + interval '12 minutes'", "finished_at": f"{created} + interval '15 minutes'",
             "measured_rto": "interval '12 minutes'", "recovery_point": f"{created} - interval '1 minute'",
             "scratch_removed": "true"},
            f"FROM unnest(ARRAY[{databases}]) db CROSS JOIN generate_series(0, {count - 1}) n",
        )  # fmt: skip

    # --- Celery, refreshes -------------------------------------------------------------------------------------

    def task_results(self):
        from django.apps import apps

        task_result = apps.get_model("django_celery_results", "TaskResult")
        count = self.n("task_results")
        step = YEAR / count
        names = "ARRAY[" + ",".join(f"'{name}'" for name in TASK_NAMES) + "]"
        done = f"{_ts(self.now)} - n * interval '{step.total_seconds()} seconds'"
        return fill(
            task_result,
            {"task_id": "md5('bench' || n)", "status": "CASE WHEN n % 100 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END",
             "content_type": "'application/json'", "content_encoding": "'utf-8'",
             "result": "CASE WHEN n % 100 = 0 THEN '{\"exc_type\": \"TimeoutError\"}' ELSE '\"ok\"' END",
             "date_done": done, "date_created": f"{done} - interval '1 second'",
             "date_started": f"{done} - interval '1 second'",
             "task_args": "'\"(' || (n % 5 + 1) || ',)\"'", "task_kwargs": "'\"{}\"'",
             "task_name": f"({names})[n % {len(TASK_NAMES)} + 1]", "worker": "'celery@worker-' || n % 4",
             "periodic_task_name": f"'bench: ' || ({names})[n % {len(TASK_NAMES)} + 1]"},
            f"FROM generate_series(0, {count - 1}) n ORDER BY n DESC",
        )  # fmt: skip

    def refresh_runs(self):
        from refreshes.models import RefreshRun, RefreshStep, RunEvent

        weeks = self.n("refresh_weeks")
        # Three years: a staging refresh each week and a dev reset each night.
        source = (
            f"FROM generate_series(0, {weeks * 7 - 1}) n CROSS JOIN (VALUES ('dev_reset', {self.env['dev']}), "
            f"('staging_refresh', {self.env['staging']})) k(kind, env) "
            "WHERE k.kind = 'dev_reset' OR n % 7 = 0 ORDER BY n DESC"
        )
        created = f"{_ts(self.now)} - n * interval '1 day' - interval '2 hours'"
        rows = fill(
            RefreshRun,
            {"kind": "k.kind", "environment": "k.env", "status": "'succeeded'",
             "token": "substr(md5(n || k.kind), 1, 8)",
             "requested_by": "'beat'", "created_at": created, "started_at": created,
             "finished_at": f"{created} + interval '20 minutes'", "leak_scan_passed": "true"},
            source,
        )  # fmt: skip
        names = "ARRAY['preflight','copy','mask','verify','load','cleanup']"
        rows += fill(
            RefreshStep,
            {"run": "r.id", "name": "s.name", "position": "s.ord - 1", "status": "'done'",
             "started_at": "r.started_at + (s.ord - 1) * interval '3 minutes'",
             "finished_at": "r.started_at + s.ord * interval '3 minutes'", "duration_ms": "180000"},
            f"FROM refreshes_refreshrun r CROSS JOIN unnest({names}) WITH ORDINALITY AS s(name, ord) "
            "WHERE r.kind = 'staging_refresh' OR s.name IN ('preflight', 'load', 'cleanup')",
        )  # fmt: skip
        steps = "(VALUES (1, 'pending', 'running'), (2, 'running', 'succeeded')) s(k, old, new)"
        rows += fill(
            RunEvent,
            {"run": "r.id", "at": "r.started_at + s.k * interval '10 minutes'", "old_status": "s.old",
             "new_status": "s.new", "reason": "'scheduled'"},
            f"FROM refreshes_refreshrun r CROSS JOIN {steps}",
        )  # fmt: skip
        return rows


def ids_of_bench_releases():
    return "(SELECT array_agg(id ORDER BY id) AS ids FROM deployments_release WHERE version LIKE '2026.%')"


def fill(*args, **kwargs):
    from bench.sqlfill import fill as _fill

    return _fill(*args, **kwargs)


def fill_history(*args, **kwargs):
    from bench.sqlfill import fill_history as _fill_history

    return _fill_history(*args, **kwargs)


def scalar(*args, **kwargs):
    from bench.sqlfill import scalar as _scalar

    return _scalar(*args, **kwargs)


def year_database(scale, *, say=print):
    """A fresh `<DATABASE_URL's name>_year`, migrated, seeded and loaded; returns (name, row counts)."""
    import io

    import psycopg
    from django.core.management import call_command
    from django.db import connections

    from bench.harness import admin_url

    default = connections["default"]
    name = f"{default.settings_dict['NAME']}_year"
    default.close()
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with on_database(name):
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("seed_strategy", stdout=io.StringIO())
        say(f"  {name}: migrated and seeded in {time.perf_counter() - started:.1f}s; loading at scale {scale}")
        counts = Year(scale, say=say).load()
    return name, counts


class on_database:  # noqa: N801 - used as a context manager
    """Point Django's default connection at another database on the same server, and back after."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        from django.db import connections

        default = connections["default"]
        self.previous = default.settings_dict["NAME"]
        default.close()
        default.settings_dict["NAME"] = self.name
        return self

    def __exit__(self, *exc):
        from django.db import connections

        default = connections["default"]
        default.close()
        default.settings_dict["NAME"] = self.previous


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.year_of_data", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1.0")))
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amarise_ops.settings")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("year_of_data: set DATABASE_URL=postgres://... (the year goes into <its name>_year)")
    import django

    django.setup()
    started = time.perf_counter()
    name, counts = year_database(args.scale)
    print(f"year_of_data: {sum(counts.values()):,} rows into {name} in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
