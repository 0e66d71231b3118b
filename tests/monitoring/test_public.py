"""The front door other apps use: the console's own checks raise and resolve alerts on the same path,
and the catalog gives deployments the same PromQL as the alert rules."""

import pytest

from incidents.public import Incident
from monitoring import public
from monitoring.exceptions import MonitoringRefused
from monitoring.models import Alert, AlertNotification

pytestmark = pytest.mark.django_db


def test_raise_alert__critical_probe_down__opens_incident_and_notifies_once(seeded, env):
    production = env("production")
    kwargs = dict(environment=production, name="EnvironmentDown", severity="critical",
                  summary="Health probe failed 3 times", source="environments.probe")  # fmt: skip
    public.raise_alert(**kwargs)
    public.raise_alert(**kwargs)  # the next failing probe: already firing, nothing new
    row = Alert.objects.get()
    assert (row.status, row.source, row.environment, row.severity) == ("firing", "environments.probe", production,
                                                                       "critical")  # fmt: skip
    assert Incident.objects.count() == 1 and row.incident is not None
    assert AlertNotification.objects.count() == 1
    # And the incident says an alert opened it, naming the check
    assert row.incident.opened_by == "alert"
    assert row.incident.timeline.get(kind="opened").text.startswith(
        "Opened by the critical alert EnvironmentDown (console check environments.probe)"
    )


def test_resolve_alert__probe_recovers__resolved_and_timeline_says_so(seeded, env):
    production = env("production")
    public.raise_alert(environment=production, name="BackupStale", severity="critical", labels={"database": "shop"},
                       summary="No good full backup in 26 h", source="backups.monitor")  # fmt: skip
    public.resolve_alert(environment=production, name="BackupStale", labels={"database": "shop"})
    row = Alert.objects.get()
    assert row.status == "resolved" and row.ends_at is not None
    assert row.incident.timeline.filter(text__startswith="Alert resolved: BackupStale").exists()
    assert public.resolve_alert(environment=production, name="BackupStale")["changed"] == 0  # already resolved


def test_raise_alert__warning__no_incident(seeded, env):
    public.raise_alert(environment=env("staging"), name="DrillSlow", severity="warning", summary="RTO missed",
                       source="backups.drills")  # fmt: skip
    assert not Incident.objects.exists()
    assert AlertNotification.objects.get().recipients == "oncall-staging@amarise.invalid"


def test_raise_alert__unknown_severity__refused(seeded, env):
    with pytest.raises(MonitoringRefused, match="Severity must be one of"):
        public.raise_alert(environment=env("staging"), name="X", severity="page", summary="", source="test")
    assert not Alert.objects.exists()


def test_metric_query__error_rate_of_a_slot__the_catalog_definition(seeded):
    query = public.metric_query(public.ERROR_RATE, environment="production", slot="green")
    assert query.startswith("(100 * sum by (environment, slot)")
    assert 'http_requests_total{environment="production",slot="green",code=~"5.."}[5m]' in query
    # where the storefront exposes none, HAProxy's exporter (its `server` relabelled as the slot)
    assert (
        ' or (100 * sum by (environment, slot) (rate(haproxy_server_http_responses_total{environment="production",'
        'slot="green",code="5xx"}[5m]))' in query
    )
    # a deployment trigger's own window, same expression
    assert "[30s]" in public.metric_query(public.ERROR_RATE, environment="production", slot="green", window="30s")
    p95 = public.metric_query(public.P95, environment="production", slot="blue")
    assert p95.startswith("histogram_quantile(0.95, sum by (environment, slot, le)")


def test_prometheus_value__not_configured__none(settings):
    settings.OPS_MONITORING_PROMETHEUS_URL = ""
    assert public.prometheus_value("up") is None


def test_slot_value__environment_not_watched__none_so_the_engine_falls_back_to_haproxy(seeded, env, settings):
    settings.OPS_MONITORING_PROMETHEUS_URL = "http://127.0.0.1:1"
    staging = env("staging")  # not monitored
    assert not public.watches(staging)
    assert public.slot_value(public.ERROR_RATE, environment=staging, slot="green", window_seconds=300) is None
    production = env("production")  # monitored, but nothing of its storefront or HAProxy is scraped
    assert not public.watches(production)


def test_slot_value__prometheus_unreachable__none_not_an_error(seeded, env, settings):
    from monitoring.models import ScrapeTarget

    settings.OPS_MONITORING_PROMETHEUS_URL = "http://127.0.0.1:1"
    production = env("production")
    ScrapeTarget.objects.create(environment=production, kind="haproxy", address="127.0.0.1:9")
    assert public.watches(production)
    assert public.slot_value(public.P95, environment=production, slot="blue", window_seconds=300) is None
