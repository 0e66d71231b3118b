"""The console's own rule: DROP COLUMN / DROP TABLE only of what an earlier release deprecated, once that
release has reached production."""

from deployments.choices import DeploymentStatus, Strategy
from deployments.models import Deployment
from environments.models import Environment
from migrations_log.choices import Severity
from migrations_log.models import LintFinding, Migration
from migrations_log.services import register_release, start_refusal
from tests.migrations_log.helpers import BASE, release

V1 = BASE | {
    "0003_deprecate_old.sql": "-- estimate: 1s\n"
    "-- deprecates column orders.gift_note\n-- deprecates table legacy_carts\n"
    "COMMENT ON COLUMN orders.gift_note IS 'deprecated: use gift_message';\n"
}
V2 = V1 | {
    "0004_drop_old.sql": "-- estimate: 1s\nSET lock_timeout = '2s';\nSET statement_timeout = '60s';\n"
    "ALTER TABLE orders DROP COLUMN gift_note;\nDROP TABLE legacy_carts;\n"
}


def _shipped_to_production(version):
    Deployment.objects.create(
        release=release(version, "tag"),
        environment=Environment.objects.get(key="production"),
        strategy=Strategy.BLUE_GREEN,
        status=DeploymentStatus.SUCCEEDED,
    )


def _drop_findings():
    return {f.rule: f.severity for f in LintFinding.objects.filter(migration__identifier="0004_drop_old")}


def test_deprecate_then_drop__across_two_releases__allowed_once_deprecation_in_production(enabled_targets):
    # Release 1 deprecates; its staging branch and its production tag carry the same directory.
    register_release(version="1.0", files=V1, ref="release/1.0", ref_kind="branch")
    register_release(version="v1.0", files=V1)
    # Release 2 drops, while 1.0 has not reached production: the drops are errors and block staging.
    register_release(version="2.0", files=V2, ref="release/2.0", ref_kind="branch")
    assert _drop_findings() == {"ban-drop-column": Severity.ERROR, "ban-drop-table": Severity.ERROR}
    Migration.objects.update(tested_locally_at="2026-01-01T00:00Z")
    refusal = start_refusal(release=release("2.0"), environment=Environment.objects.get(key="staging"))
    assert "0004_drop_old.sql:4 ban-drop-column" in refusal and "0004_drop_old.sql:5 ban-drop-table" in refusal

    _shipped_to_production("v1.0")

    assert start_refusal(release=release("2.0"), environment=Environment.objects.get(key="staging")) == ""
    assert _drop_findings() == {"ban-drop-column": Severity.ALLOWED, "ban-drop-table": Severity.ALLOWED}


def test_drop__never_deprecated__error_naming_the_column(seeded):
    from migrations_log.services import drop_reasons

    register_release(version="2.0", files=BASE | {"0004_drop.sql": "ALTER TABLE orders DROP COLUMN legacy_code;\n"})
    finding = LintFinding.objects.get(rule="ban-drop-column")
    assert finding.severity == Severity.ERROR
    assert drop_reasons(finding) == [
        "orders.legacy_code was never marked deprecated: deprecate it in one release (-- deprecates …), "
        "drop it in a later one."
    ]


def test_drop__deprecated_in_the_same_release__error(seeded):
    from migrations_log.services import drop_reasons

    register_release(version="2.0", files=V2)
    finding = LintFinding.objects.get(rule="ban-drop-column")
    assert finding.severity == Severity.ERROR
    assert "deprecated in this same release 2.0" in drop_reasons(finding)[0]


def test_drop__deprecation_release_only_on_staging__error(seeded):
    from migrations_log.services import drop_reasons

    register_release(version="1.0", files=V1, ref="release/1.0", ref_kind="branch")
    Deployment.objects.create(
        release=release("1.0"),
        environment=Environment.objects.get(key="staging"),
        strategy=Strategy.BLUE_GREEN,
        status=DeploymentStatus.SUCCEEDED,
    )
    register_release(version="2.0", files=V2, ref="release/2.0", ref_kind="branch")
    finding = LintFinding.objects.get(rule="ban-drop-table")
    assert drop_reasons(finding) == ["legacy_carts was deprecated in 1.0, which has not reached production yet."]
