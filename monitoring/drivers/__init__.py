"""Adapters to the engines the console drives: Prometheus (query, reload) and Alertmanager (silences, reload)."""

from core.drivers import Registry

engines = Registry(
    "monitoring engine",
    {
        "prometheus": "monitoring.drivers.prometheus.Prometheus",
        "alertmanager": "monitoring.drivers.alertmanager.Alertmanager",
    },
)


def prometheus_engine():
    """The configured Prometheus, or None (the console works without one)."""
    from monitoring import conf

    url = conf.prometheus_url()
    return engines.get("prometheus")(url, timeout=conf.timeout()) if url else None


def alertmanager_engine():
    from monitoring import conf

    url = conf.alertmanager_url()
    return engines.get("alertmanager")(url, timeout=conf.timeout()) if url else None
