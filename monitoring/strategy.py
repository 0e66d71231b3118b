"""§8 of the strategy as data: the metrics to track and the alerting thresholds.

The application metrics read the storefront's own series (http_requests_total, and the
http_request_duration_seconds histograms for the percentiles); where an environment's storefront exposes none,
request rate and error rate fall back (PromQL `or`) to HAProxy's built-in exporter
(haproxy_server_http_responses_total{proxy, server, code="5xx"}), whose `server` becomes `slot` for the
servers named blue and green (the scrape job's metric relabelling). HAProxy has averages, not histograms:
there is no p95 from it.

A metric's PromQL is a template: `$labels` becomes the label matchers (the environment, and the slot
where it applies), `$by` the labels the result keeps, `$window` the metric's rate window.
"""

# key, name, category, unit, per_slot, PromQL template
METRICS = [
    ("request_rate", "Request rate", "application", "req/s", True,
     "sum by ($by) (rate(http_requests_total{$labels}[$window]))"
     " or sum by ($by) (rate(haproxy_server_http_responses_total{$labels}[$window]))"),
    ("error_rate", "Error rate (5xx share)", "application", "%", True,
     '(100 * sum by ($by) (rate(http_requests_total{$labels,code=~"5.."}[$window]))'
     " / sum by ($by) (rate(http_requests_total{$labels}[$window])))"
     ' or (100 * sum by ($by) (rate(haproxy_server_http_responses_total{$labels,code="5xx"}[$window]))'
     " / sum by ($by) (rate(haproxy_server_http_responses_total{$labels}[$window])))"),
    ("response_time_p50", "Response time p50", "application", "s", True,
     "histogram_quantile(0.5, sum by ($by, le) (rate(http_request_duration_seconds_bucket{$labels}[$window])))"),
    ("response_time_p95", "Response time p95", "application", "s", True,
     "histogram_quantile(0.95, sum by ($by, le) (rate(http_request_duration_seconds_bucket{$labels}[$window])))"),
    ("response_time_p99", "Response time p99", "application", "s", True,
     "histogram_quantile(0.99, sum by ($by, le) (rate(http_request_duration_seconds_bucket{$labels}[$window])))"),
    ("active_users", "Active users", "application", "users", False,
     "sum by ($by) (storefront_active_users{$labels})"),
    ("orders_per_hour", "Orders per hour", "business", "orders/h", False,
     "sum by ($by) (increase(amarise_orders_total{$labels}[1h]))"),
    ("cart_abandonment_rate", "Cart abandonment rate", "business", "%", False,
     "100 * sum by ($by) (amarise_carts_abandoned{$labels}) / sum by ($by) (amarise_carts_created{$labels})"),
    ("checkout_completion_rate", "Checkout completion rate", "business", "%", False,
     "100 * sum by ($by) (amarise_carts_paid{$labels}) / sum by ($by) (amarise_carts_checkout_started{$labels})"),
    ("revenue", "Revenue", "business", "EUR/h", False,
     "sum by ($by) (increase(amarise_orders_revenue_total{$labels}[1h]))"),
    ("cpu_usage", "CPU utilization", "infrastructure", "%", False,
     '100 * (1 - avg by ($by) (rate(node_cpu_seconds_total{$labels,mode="idle"}[$window])))'),
    ("memory_usage", "Memory usage", "infrastructure", "%", False,
     "100 * (1 - sum by ($by) (node_memory_MemAvailable_bytes{$labels})"
     " / sum by ($by) (node_memory_MemTotal_bytes{$labels}))"),
    ("disk_usage", "Disk usage", "infrastructure", "%", False,
     '100 * max by ($by) (1 - node_filesystem_avail_bytes{$labels,fstype!~"tmpfs|overlay|squashfs"}'
     ' / node_filesystem_size_bytes{$labels,fstype!~"tmpfs|overlay|squashfs"})'),
    ("database_connections", "Database connections", "infrastructure", "connections", False,
     "sum by ($by) (pg_stat_activity_count{$labels})"),
    ("cache_hit_rate", "Cache hit rate", "infrastructure", "%", False,
     "100 * sum by ($by) (rate(redis_keyspace_hits_total{$labels}[$window]))"
     " / (sum by ($by) (rate(redis_keyspace_hits_total{$labels}[$window]))"
     " + sum by ($by) (rate(redis_keyspace_misses_total{$labels}[$window])))"),
]  # fmt: skip

DEFAULT_WINDOW = "5m"

# postgres-exporter custom queries for the business metrics, read from the commerce database. Each becomes
# <namespace>_<column>; a query is generated only while a catalog metric's PromQL reads its namespace.
# Carts are counted over the last 24 hours (gauges): abandonment = abandoned / created, checkout completion =
# paid / checkout started (a cart that reached checkout has checkout_started_at, even if later abandoned).
EXPORTER_QUERIES = {
    "amarise_orders": {
        "query": "SELECT count(*)::float8 AS total, coalesce(sum(total_cents), 0) / 100.0 AS revenue_total FROM orders",
        "metrics": [
            {"total": {"usage": "COUNTER", "description": "Orders placed"}},
            {"revenue_total": {"usage": "COUNTER", "description": "Revenue of the orders placed (EUR)"}},
        ],
    },
    "amarise_carts": {
        "query": "SELECT count(*)::float8 AS created, count(checkout_started_at)::float8 AS checkout_started,"
        " (count(*) FILTER (WHERE status = 'paid'))::float8 AS paid,"
        " (count(*) FILTER (WHERE status = 'abandoned'))::float8 AS abandoned"
        " FROM carts WHERE created_at > now() - interval '24 hours'",
        "metrics": [
            {"created": {"usage": "GAUGE", "description": "Carts created in the last 24 hours"}},
            {"checkout_started": {"usage": "GAUGE", "description": "Of them, carts that started checkout"}},
            {"paid": {"usage": "GAUGE", "description": "Of them, carts paid"}},
            {"abandoned": {"usage": "GAUGE", "description": "Of them, carts abandoned"}},
        ],
    },
}

# metric key -> (warning, critical): the §8 table, "greater than" both.
THRESHOLDS = {
    "error_rate": (1.0, 5.0),
    "response_time_p95": (1.0, 3.0),
    "cpu_usage": (70.0, 90.0),
    "memory_usage": (75.0, 90.0),
    "disk_usage": (70.0, 85.0),
}
THRESHOLD_FOR_SECONDS = 300  # the strategy's 5-minute window

# HAProxy's exporter names backend servers `server`; the blue/green ones become the `slot` label.
HAPROXY_SLOT_SERVERS = "blue|green"

ONCALL_EMAIL = "oncall-{key}@amarise.invalid"  # seeded; the README tells operators to change it

APPLY_TASK = "monitoring.apply_configuration"
NOTIFY_TASK = "monitoring.deliver_alert_notification"
SILENCE_SYNC_TASK = "monitoring.sync_silences"
