"""Real Prometheus and Alertmanager (Debian's packages) started from the configuration the console wrote,
and a stand-in storefront instrumented with prometheus_client."""

import shutil
import subprocess
import threading
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.conftest import wait_until
from tests.deployments.standins import free_port

BOOT_PROMETHEUS = "global:\n  scrape_interval: 500ms\n  evaluation_interval: 500ms\n"
BOOT_ALERTMANAGER = "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n"


def _ready(url):
    try:
        return requests.get(f"{url}/-/ready", timeout=1).ok
    except requests.RequestException:
        return False


class Engine:
    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()

    def log_text(self):
        return Path(self.log.name).read_text(errors="replace")[-3000:]


class Prometheus(Engine):
    """Reads <config_dir>/prometheus.yml (the console's), lifecycle API on for /-/reload."""

    def __init__(self, workdir: Path, config_dir: Path):
        config = config_dir / "prometheus.yml"
        if not config.exists():
            config.write_text(BOOT_PROMETHEUS)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
             "--web.enable-lifecycle", "--rules.alert.resend-delay=1s"],
            stdout=self.log, stderr=self.log,
        )  # fmt: skip
        wait_until(lambda: _ready(self.url), timeout=30, what="Prometheus to be ready")

    def rules(self):
        return requests.get(f"{self.url}/api/v1/rules", timeout=5).json()["data"]["groups"]

    def targets(self):
        return requests.get(f"{self.url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]


class Alertmanager(Engine):
    def __init__(self, workdir: Path, config_dir: Path):
        config = config_dir / "alertmanager.yml"
        if not config.exists():
            config.write_text(BOOT_ALERTMANAGER)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(workdir / "alertmanager.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager",
             f"--config.file={config}", f"--storage.path={workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=self.log, stderr=self.log,
        )  # fmt: skip
        wait_until(lambda: _ready(self.url), timeout=30, what="Alertmanager to be ready")

    def silences(self):
        return requests.get(f"{self.url}/api/v2/silences", timeout=5).json()

    def alerts(self):
        return requests.get(f"{self.url}/api/v2/alerts", timeout=5).json()


class Storefront:
    """A stand-in storefront slot: serves GET / with a chosen share of 5xx (deterministic: `error_percent`
    of every 100 requests, spread), instrumented with prometheus_client's counter and histogram; shoppers drive it."""

    def __init__(self, slot="blue", rate_per_second=60, *, latencies=None, buckets=None):
        """`latencies`: durations recorded in turn instead of the measured ones (a slow profile without waiting)."""
        from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests_total", "Requests", ["code"], registry=self.registry)
        self.duration = Histogram("http_request_duration_seconds", "Latency", registry=self.registry,
                                  **({"buckets": buckets} if buckets else {}))  # fmt: skip
        self.latencies = latencies
        self.via = None  # shoppers go straight to the slot, or through this URL (a load balancer)
        for code in ("200", "500"):
            self.requests.labels(code=code)  # both series exist from the start, as instrumented apps do
        self.error_percent = 0
        self.served = 0
        self.slot = slot
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/metrics"):
                    body, status = generate_latest(front.registry), 200
                else:
                    with front.duration.time() if not front.latencies else nullcontext():
                        front.served += 1
                        # exactly error_percent of every 100 requests, spread out (37 is prime to 100)
                        status = 500 if front.served * 37 % 100 < front.error_percent else 200
                    if front.latencies:
                        front.duration.observe(front.latencies[front.served % len(front.latencies)])
                    front.requests.labels(code=str(status)).inc()
                    body = b"ok" if status == 200 else b"boom"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.stop_event = threading.Event()
        self.interval = 1.0 / rate_per_second
        self.shopper = threading.Thread(target=self._shop, daemon=True)
        self.shopper.start()

    def _shop(self):
        session = requests.Session()
        while not self.stop_event.wait(self.interval):
            try:
                session.get(self.via or f"http://{self.address}/", timeout=2)
            except requests.RequestException:
                pass

    def close(self):
        self.stop_event.set()
        self.shopper.join(timeout=5)
        self.server.shutdown()
        self.server.server_close()


class Exporter(Engine):
    """One of Debian's exporters on a free port: node, redis or postgres."""

    def __init__(self, workdir: Path, binary: str, *args, env=None, dash="--"):
        import os

        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.log = open(workdir / f"{binary}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [shutil.which(binary) or f"/usr/bin/{binary}", f"{dash}web.listen-address={self.address}", *args],
            stdout=self.log, stderr=self.log, env={**os.environ, **(env or {})},
        )  # fmt: skip
        wait_until(self._answers, timeout=30, what=f"{binary} to answer")

    def _answers(self):
        try:
            return requests.get(f"http://{self.address}/metrics", timeout=2).ok
        except requests.RequestException:
            return False


HAPROXY_CONFIG = """
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend prometheus
    bind 127.0.0.1:{metrics_port}
    http-request use-service prometheus-exporter if {{ path /metrics }}

frontend storefront_in
    bind 127.0.0.1:{port}
    default_backend storefront

backend storefront
    server green {green}
"""


class HAProxy(Engine):
    """Debian's HAProxy in front of one slot, with its built-in Prometheus endpoint (`use-service
    prometheus-exporter`): what an environment without the storefront's own metrics is scraped from."""

    def __init__(self, workdir: Path, green: str):
        port, metrics_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.address = f"127.0.0.1:{metrics_port}"
        config = workdir / "haproxy-monitoring.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=port, metrics_port=metrics_port, green=green))
        self.log = open(workdir / "haproxy.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", str(config)],
                                        stdout=self.log, stderr=self.log)  # fmt: skip
        wait_until(self._answers, timeout=15, what="HAProxy's Prometheus endpoint")

    def _answers(self):
        try:
            return requests.get(f"http://{self.address}/metrics", timeout=1).ok
        except requests.RequestException:
            return False
