#!/usr/bin/env bash
# Make sure the real services the tests use are installed and running:
# PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379, and Debian's Chromium, HAProxy, pgBackRest, faketime, Prometheus, Alertmanager and its exporters, wrk.
# Installs with apt (as root) what is missing; otherwise says what to do.
set -euo pipefail

apt_updated=0
need_pkg() {
  local pkg=$1
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_services: $pkg is missing; install it (apt-get install $pkg) or run make test as root." >&2
    exit 1
  fi
  if [ $apt_updated -eq 0 ]; then
    echo "ensure_services: apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  echo "ensure_services: installing $pkg"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}

wait_for() {  # wait_for "description" command...
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "ensure_services: $what did not come up within 30 s" >&2
  exit 1
}

# --- PostgreSQL -----------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || need_pkg postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # The tests connect as postgres over TCP without a password (trust), as on the dev machines.
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  echo "ensure_services: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "PostgreSQL" pg_isready -h 127.0.0.1 -p 5432
fi

# --- Redis --------------------------------------------------------------------------
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  command -v redis-server >/dev/null || need_pkg redis-server
  echo "ensure_services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for "Redis" sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
fi

# --- Tools the tests drive for real ------------------------------------------------------
[ -x /usr/bin/chromium ] || need_pkg chromium        # browser journeys (Playwright)
command -v haproxy >/dev/null || need_pkg haproxy      # blue-green load balancer
command -v pgbackrest >/dev/null || need_pkg pgbackrest  # backups and restore drills
command -v faketime >/dev/null || need_pkg faketime      # pgBackRest's time-based expiry, 40 days on
command -v prometheus >/dev/null || need_pkg prometheus  # p95 triggers through PromQL; promtool checks the rules
command -v prometheus-alertmanager >/dev/null || need_pkg prometheus-alertmanager  # alerts, silences; amtool
command -v prometheus-node-exporter >/dev/null || need_pkg prometheus-node-exporter  # CPU, memory, disk
command -v prometheus-postgres-exporter >/dev/null || need_pkg prometheus-postgres-exporter  # connections, business metrics
command -v prometheus-redis-exporter >/dev/null || need_pkg prometheus-redis-exporter  # cache hit rate
command -v wrk >/dev/null || need_pkg wrk                # make bench: HTTP load on the flags API

echo "ensure_services: PostgreSQL, Redis, Chromium, HAProxy, pgBackRest, faketime, Prometheus, Alertmanager, the exporters and wrk are ready"
