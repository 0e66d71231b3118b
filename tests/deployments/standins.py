"""Stand-ins for the storefront's blue and green slots, HAProxy in front of them, and shoppers.

The slots are small HTTP servers whose behaviour follows the release deployed to them, so a
test decides what a "bad release" does. HAProxy is the real one, driven over its stats socket.
"""

import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import wait_until


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # shoppers hanging up mid-response are part of the scenario


@dataclass
class Behaviour:
    error_fraction: float = 0.0
    delay_seconds: float = 0.0
    healthy: bool = True


BUCKETS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, float("inf"))


@dataclass
class SlotServer:
    name: str
    behaviours: dict = field(default_factory=dict)  # version -> Behaviour
    version: str = "v1"
    hits: int = 0
    # A Prometheus histogram of response times, as an instrumented storefront exposes it.
    bucket_counts: list = field(default_factory=lambda: [0] * len(BUCKETS))
    duration_sum: float = 0.0

    def __post_init__(self):
        slot = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per response and no Nagle: otherwise delayed ACKs cap keep-alive at ~25 req/s.
            wbufsize = -1
            disable_nagle_algorithm = True

            def _send(self, status, body):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                url = urlsplit(self.path)
                if url.path == "/_control/deploy":
                    slot.version = parse_qs(url.query)["version"][0]
                    return self._send(200, f"{slot.name} now runs {slot.version}")
                self._send(404, "unknown")

            def do_GET(self):
                behaviour = slot.behaviour
                if self.path.startswith("/metrics"):
                    return self._send(200, slot.metrics_text())
                if self.path.startswith("/smoke"):
                    # Smoke checks see the page render; a bad release's errors show under real traffic.
                    return self._send(200, f"AMARISÉ storefront {slot.version} smoke")
                if self.path.startswith("/healthz"):
                    return self._send(200 if behaviour.healthy else 503, "ok" if behaviour.healthy else "unhealthy")
                slot.hits += 1
                started = time.monotonic()
                if behaviour.delay_seconds:
                    time.sleep(behaviour.delay_seconds)
                slot.observe(time.monotonic() - started)
                if random.random() < behaviour.error_fraction:  # noqa: S311 - traffic shaping, not crypto
                    return self._send(500, "boom")
                self._send(200, f"AMARISÉ storefront {slot.version} on {slot.name}")

            def log_message(self, *args):
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def observe(self, seconds):
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.bucket_counts[i] += 1
        self.duration_sum += seconds

    def metrics_text(self):
        name = "storefront_request_duration_seconds"
        lines = [f"# TYPE {name} histogram"]
        for bound, count in zip(BUCKETS, self.bucket_counts, strict=True):
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            lines.append(f'{name}_bucket{{slot="{self.name}",le="{le}"}} {count}')
        lines.append(f'{name}_sum{{slot="{self.name}"}} {self.duration_sum}')
        lines.append(f'{name}_count{{slot="{self.name}"}} {self.bucket_counts[-1]}')
        return "\n".join(lines) + "\n"

    @property
    def behaviour(self):
        return self.behaviours.get(self.version, Behaviour())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HAPROXY_CONFIG = """
global
    stats socket {socket} mode 600 level admin
    stats socket ipv4@127.0.0.1:{admin_port} level admin
    stats timeout 30s
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend storefront_in
    bind 127.0.0.1:{port}
    default_backend storefront

backend storefront
    balance roundrobin
    server blue {blue} weight 100
    server green {green} weight 0
"""


class HAProxy:
    def __init__(self, workdir: Path, blue: SlotServer, green: SlotServer):
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.socket = str(workdir / "admin.sock")
        self.port = free_port()
        self.admin_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "haproxy.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                socket=self.socket, admin_port=self.admin_port, port=self.port, blue=blue.address, green=green.address
            )
        )
        self.log = open(workdir / "haproxy.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=self.log, stderr=self.log)
        wait_until(lambda: Path(self.socket).exists() and self._answers(), timeout=15, what="HAProxy's stats socket")

    def _answers(self):
        try:
            requests.get(self.url, timeout=1)
            return True
        except requests.RequestException:
            return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


PROMETHEUS_CONFIG = """
global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
scrape_configs:
  - job_name: storefront
    static_configs:
      - targets: [{targets}]
"""


class Prometheus:
    """The real Prometheus (Debian's package), scraping the stand-in slots every 500 ms."""

    def __init__(self, workdir: Path, *slots: SlotServer):
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        config = workdir / "prometheus.yml"
        config.write_text(PROMETHEUS_CONFIG.format(targets=", ".join(f"'{s.address}'" for s in slots)))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=self.log, stderr=self.log,
        )  # fmt: skip
        wait_until(self._ready, timeout=30, what="Prometheus to be ready")

    def _ready(self):
        try:
            return requests.get(f"{self.url}/-/ready", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


class Shoppers:
    """Steady traffic through HAProxy from a few threads; counts what came back."""

    def __init__(self, url, threads=3):
        self.url = url
        self.stop_event = threading.Event()
        self.responses = 0
        self.errors = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self):
        session = requests.Session()
        while not self.stop_event.is_set():
            try:
                response = session.get(self.url, timeout=5)
                self.responses += 1
                self.errors += response.status_code >= 500
            except requests.RequestException:
                self.errors += 1

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)


DEPLOY_COMMAND = f"{sys.executable} -m tests.deployments.deploy_stub {{address}} {{version}}"


class Storefront:
    """A slot as the synthetic journeys see it: home, a product page, a cookie-held cart, checkout to payment.

    `failing` holds paths answered 500 (a bad release's broken add to cart); `delay_seconds` slows every answer.
    """

    def __init__(self, *, failing=(), delay_seconds=0.0):
        self.failing = set(failing)
        self.delay_seconds = delay_seconds
        self.carts = {}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status, body, cookie=None):
                data = body.encode()
                self.send_response(status)
                if cookie:
                    self.send_header("Set-Cookie", f"cart={cookie}; Path=/; HttpOnly")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(data)

            def _cart(self):
                for part in (self.headers.get("Cookie") or "").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "cart" and value in shop.carts:
                        return value, shop.carts[value]
                return None, None

            def _answer(self, method):
                if shop.delay_seconds:
                    time.sleep(shop.delay_seconds)  # sleep-ok: a slow storefront is the scenario
                url = urlsplit(self.path)
                if url.path in shop.failing:
                    return self._send(500, "Internal Server Error")
                form = {}
                if method == "POST":
                    raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                    form = {k: v[0] for k, v in parse_qs(raw).items()}
                cart_id, cart = self._cart()
                if (method, url.path) == ("GET", "/"):
                    return self._send(200, "<h1>AMARISÉ</h1>")
                if method == "GET" and url.path.startswith("/products/"):
                    return self._send(200, f"{url.path.rsplit('/', 1)[-1]} <button>Add to cart</button>")
                if (method, url.path) == ("POST", "/cart/add"):
                    cart_id = cart_id or f"c{len(shop.carts) + 1}"
                    shop.carts.setdefault(cart_id, []).append(form.get("product", ""))
                    return self._send(200, "Added to cart", cookie=cart_id)
                if cart is None and url.path.startswith(("/cart", "/checkout")):
                    return self._send(400, "Your cart is empty")
                if (method, url.path) == ("GET", "/cart"):
                    return self._send(200, "Cart: " + ", ".join(cart))
                if (method, url.path) == ("GET", "/checkout"):
                    return self._send(200, "Shipping address")
                if (method, url.path) == ("POST", "/checkout/shipping"):
                    return self._send(200, "Payment" if form.get("country") else "Shipping: country missing")
                if (method, url.path) == ("GET", "/checkout/payment"):
                    sandbox = parse_qs(url.query).get("sandbox") == ["1"]
                    return self._send(200, "Payment (sandbox)" if sandbox else "Payment (LIVE)")
                return self._send(404, "Not found")

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def log_message(self, *args):
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.address}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
