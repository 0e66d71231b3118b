"""A throwaway PostgreSQL cluster that accepts only TLS on 127.0.0.1, with a CA and a server certificate made here.

Plain TCP is rejected by pg_hba, so a client that drops sslmode, sslrootcert and the like cannot pass unnoticed.
"""

import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args):
    done = subprocess.run(["runuser", "-u", "postgres", "--", *map(str, args)], capture_output=True, text=True,
                          cwd="/")  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-500:]}")


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key):
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


def _cert(subject, issuer, public_key, signing_key, *, ca, san=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signing_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def make_ca(directory: Path, name: str):
    key = _key()
    (directory / f"{name}.pem").write_bytes(_cert(name, name, key.public_key(), key, ca=True))
    return key


@dataclass
class TlsCluster:
    root: Path
    port: int

    @property
    def ca_file(self):
        return self.root / "ca.pem"

    @property
    def other_ca_file(self):
        return self.root / "other-ca.pem"

    def url(self, dbname="postgres", *, ca=None, sslmode="verify-full"):
        return (
            f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"
            f"?sslmode={sslmode}&sslrootcert={ca or self.ca_file}&application_name=tls-test"
        )

    def stop(self):
        _as_postgres(BIN / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_tls_cluster() -> TlsCluster:
    root = Path(tempfile.mkdtemp(prefix="refreshes-tls-", dir="/tmp"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user works inside
    data = root / "data"
    ca_key = make_ca(root, "ca")
    make_ca(root, "other-ca")  # a CA that signed nothing here: verify-full against it must fail
    server_key = _key()
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server_cert = _cert("127.0.0.1", "ca", server_key.public_key(), ca_key, ca=False, san=san)
    shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    _as_postgres(BIN / "initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--no-sync")
    (data / "server.crt").write_bytes(server_cert)
    (data / "server.key").write_bytes(_pem_key(server_key))
    os.chmod(data / "server.key", 0o600)
    for name in ("server.crt", "server.key"):
        shutil.chown(data / name, "postgres", "postgres")
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n"
    )
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                   "fsync = off\nssl = on\nmax_connections = 20\nshared_buffers = 16MB\n")  # fmt: skip
    _as_postgres(BIN / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "start")
    return TlsCluster(root=root, port=port)
