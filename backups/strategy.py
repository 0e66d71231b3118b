"""§9 of the environment strategy, as data. seed_strategy loads it."""

# (name, tier, RTO minutes, database, row-count tables, checksum query)
SERVICES = [
    ("Checkout", 1, 60, "checkout", "orders, payments",
     "select md5(coalesce(string_agg(id::text, ',' order by id), '')) from orders"),
    ("Product catalog", 1, 120, "catalog", "products",
     "select md5(coalesce(string_agg(id::text, ',' order by id), '')) from products"),
    ("Journal", 2, 240, "journal", "entries",
     "select md5(coalesce(string_agg(id::text, ',' order by id), '')) from entries"),
    ("Analytics", 2, 480, "analytics", "events", "select count(distinct kind) from events"),
]  # fmt: skip

POLICY = {
    "name": "Strategy §9",
    "full_hour_utc": 3,
    "full_minute": 0,
    "incr_every_hours": 6,
    "retention_days": 30,
    "cross_region_copy": True,
    "rto_target_minutes": 240,
    "rpo_target_minutes": 60,
    "full_max_age_hours": 26,
    "incr_max_age_hours": 7,
}

# Production keeps backups (§2). Paths are Debian's defaults; operators adjust them in the admin.
PRODUCTION_DATABASE = {
    "stanza": "amarise-production",
    "host": "127.0.0.1",
    "port": 5432,
    "data_directory": "/var/lib/postgresql/15/main",
    "socket_directory": "/var/run/postgresql",
    "pg_bin_dir": "/usr/lib/postgresql/15/bin",
    "os_user": "postgres",
    "work_dir": "/var/lib/amarise-ops/backups/amarise-production",
    "repo1_path": "/var/lib/pgbackrest",
    "repo1_region": "eu-west-1",
    "repo2_path": "/mnt/cross-region/pgbackrest",
    "repo2_region": "eu-central-1",
    "cipher": True,
    "cipher_pass_env": "OPS_BACKUPS_CIPHER_PASS",
}

# §9 Files/Assets: continuous replication, versioning, 90 days.
BUCKETS = [("production", "amarise-production-assets", "eu-west-1")]

FULL_TASK = "backups.run_scheduled_backups"
VERIFY_TASK = "backups.verify_all"
DRILL_TASK = "backups.drill_all"
RPO_TASK = "backups.check_rpo_all"
RECONCILE_TASK = "backups.reconcile_runs"
BUCKET_TASK = "backups.check_buckets"
