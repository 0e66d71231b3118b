"""repo2 in an S3 bucket of another region than repo1: a backup reaches it and a drill restores from it.

moto's server mode stands in for S3 (a paid cloud service). pgBackRest speaks only HTTPS to S3, and checks the
certificate: HAProxy (real, as in production's edge) terminates TLS with a certificate made here, signed by a CA
made here, in front of moto's plain HTTP. Why not moto's own `--ssl-cert`: its server (werkzeug) answers every
request with `Connection: close` and closes the TLS socket without a close_notify, which pgBackRest's OpenSSL 3
reads as "TLS error [1:167772454] unexpected eof while reading" on each PUT, retried until it gives up.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest
from django.urls import reverse

from backups import drills, monitor, services
from backups.choices import AlertKind, DrillStatus, RepoType, RunStatus
from backups.drivers.cluster import free_port
from backups.drivers.pgbackrest import Repo, S3Storage, render_config
from backups.models import ProtectedDatabase
from tests.backups.cluster import point_production_at, remove_test_cluster, start_test_cluster
from tests.backups.conftest import backup_alert
from tests.conftest import wait_until

REPO1_REGION, REPO2_REGION, BUCKET = "eu-west-1", "eu-central-1", "amarise-backups-dr"
KEYS = {"OPS_BACKUPS_REPO2_S3_KEY": "moto-key", "OPS_BACKUPS_REPO2_S3_KEY_SECRET": "moto-secret"}


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(directory):
    """A CA and a certificate for localhost signed by it, made for this module only."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
             "-subj", "/CN=backups test CA", cwd=directory)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)  # fmt: skip
    (directory / "ext.cnf").write_text("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", "ext.cnf", cwd=directory)  # fmt: skip
    pem = (directory / "server.crt").read_text() + (directory / "server.key").read_text()
    (directory / "server.pem").write_text(pem)
    os.chmod(directory / "ca.crt", 0o644)  # pgBackRest runs as postgres
    return directory / "ca.crt"


def _listening(port):
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def s3_endpoint():
    """(https port, CA file, plain moto URL): moto's S3 behind HAProxy's TLS, the bucket made in REPO2_REGION."""
    directory = Path(tempfile.mkdtemp(prefix="backups-s3-"))
    os.chmod(directory, 0o755)  # noqa: S103 - postgres reads the CA file inside
    ca_file = _certificates(directory)
    moto_port, tls_port = free_port(), free_port()
    (directory / "haproxy.cfg").write_text(
        "global\n    maxconn 64\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n"
        "    timeout server 60s\n"
        f"frontend s3\n    bind 127.0.0.1:{tls_port} ssl crt {directory / 'server.pem'}\n    default_backend moto\n"
        f"backend moto\n    server moto 127.0.0.1:{moto_port}\n"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEYS["OPS_BACKUPS_REPO2_S3_KEY"],
           "AWS_SECRET_ACCESS_KEY": KEYS["OPS_BACKUPS_REPO2_S3_KEY_SECRET"]}  # fmt: skip
    moto_bin = Path(sys.executable).parent / "moto_server"
    processes = [
        subprocess.Popen([str(moto_bin), "-H", "127.0.0.1", "-p", str(moto_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["haproxy", "-db", "-f", str(directory / "haproxy.cfg")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        wait_until(lambda: _listening(moto_port) and _listening(tls_port), timeout=30, what="moto and HAProxy")
        s3 = boto3.client("s3", endpoint_url=f"https://localhost:{tls_port}", region_name=REPO2_REGION,
                          verify=str(ca_file), aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REPO2_REGION})
        yield tls_port, ca_file, s3
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def s3_keys():
    saved = {k: os.environ.get(k) for k in KEYS}
    os.environ.update(KEYS)
    yield KEYS
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _s3_repo(tls_port, ca_file):
    return Repo(2, "/pgbackrest", 30, region=REPO2_REGION,
                s3=S3Storage(bucket=BUCKET, endpoint="localhost", region=REPO2_REGION, uri_style="path",
                             port=tls_port, ca_file=str(ca_file)))  # fmt: skip


@pytest.fixture(scope="module")
def s3_cluster(s3_endpoint, s3_keys):
    """This module's cluster: repo1 a directory, repo2 the bucket; the server's archive-push writes to both."""
    tls_port, ca_file, _ = s3_endpoint
    cluster = start_test_cluster(stanza="backups-s3", repo2=_s3_repo(tls_port, ca_file))
    yield cluster
    remove_test_cluster(cluster)


@pytest.mark.django_db(transaction=True)
def test_backup_and_drill__repo2_an_s3_bucket_in_another_region__both_repos_hold_it_and_repo2_restores(
    backups_seeded_tx, s3_endpoint, s3_cluster, client, superuser
):
    tls_port, ca_file, s3 = s3_endpoint
    # Given production with repo1 a directory in eu-west-1 and repo2 the bucket in eu-central-1, over TLS
    database = point_production_at(s3_cluster)
    ProtectedDatabase.objects.filter(pk=database.pk).update(
        repo1_region=REPO1_REGION, repo2_type=RepoType.S3, repo2_path="/pgbackrest", repo2_region=REPO2_REGION,
        repo2_s3_bucket=BUCKET, repo2_s3_endpoint="localhost", repo2_s3_port=tls_port, repo2_s3_uri_style="path",
        repo2_s3_ca_file=str(ca_file),
    )  # fmt: skip
    database.refresh_from_db()

    # When a full backup runs, then a drill restores from repo2
    run = services.request_backup(database_id=database.pk, backup_type="full", actor="test", enqueue=False)
    run = services.execute_backup(run_id=run.pk)
    drill = drills.request_drill(database_id=database.pk, actor="test", repo=2, enqueue=False)
    drill = drills.execute(drill_id=drill.pk)

    # Then the backup reached both, the bucket holds it, and the copy in the other region restores and serves
    assert run.status == RunStatus.GOOD, run.error
    assert run.repos_reached == [1, 2]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="pgbackrest/backup/backups-s3/")["Contents"]]
    assert f"pgbackrest/backup/backups-s3/{run.labels['2']}/backup.manifest" in keys
    assert drill.status == DrillStatus.PASSED, (drill.error, drill.results)
    assert drill.backup_label == run.labels["2"]
    # and the page shows where each repository is; no same-region alert
    assert monitor.check_regions(database_id=database.pk) == ""
    client.force_login(superuser)
    body = client.get(reverse("admin:backups_protecteddatabase_page", args=[database.pk])).content.decode()
    assert f'<th>repo1</th><td>{s3_cluster.repo(1)}</td><td class="bk-region">{REPO1_REGION}</td>' in body
    assert f'<th>repo2</th><td>S3 bucket {BUCKET} (localhost)</td><td class="bk-region">{REPO2_REGION}</td>' in body
    assert "repo2-type=s3" in body and "repo2-s3-region=eu-central-1" in body
    assert "moto-secret" not in body and "moto-secret" not in Path(database.config_path).read_text()


@pytest.mark.django_db
def test_check_regions__both_repos_in_one_region__alert_with_reason_then_resolved_when_moved(backups_seeded):
    database = ProtectedDatabase.objects.get()
    ProtectedDatabase.objects.filter(pk=database.pk).update(repo1_region="eu-west-1", repo2_region="EU-WEST-1")

    problem = monitor.check_regions(database_id=database.pk)

    assert "repo1 and repo2 are both in eu-west-1" in problem
    alert = backup_alert(AlertKind.SAME_REGION)
    assert alert.name == "BackupCopySameRegion" and "one regional outage takes both" in alert.summary

    ProtectedDatabase.objects.filter(pk=database.pk).update(repo2_region="eu-central-1")
    assert monitor.check_regions(database_id=database.pk) == ""
    assert backup_alert(AlertKind.SAME_REGION) is None


@pytest.mark.django_db
def test_protected_database__s3_repo2_without_bucket_or_region__refused_with_field_errors(backups_seeded):
    from django.core.exceptions import ValidationError

    database = ProtectedDatabase.objects.get()
    database.repo2_type = RepoType.S3
    database.repo2_region = ""

    with pytest.raises(ValidationError) as refused:
        database.full_clean()

    assert refused.value.message_dict["repo2_s3_bucket"] == ["Required for an S3 bucket."]
    assert refused.value.message_dict["repo2_region"] == ["Required for an S3 bucket."]


def test_render_config__s3_repo2__bucket_options_no_keys_and_a_newline_refused():
    from backups.drivers.base import DriverError
    from tests.backups.cluster import stanza_config

    cfg = stanza_config(Path("/tmp/x"), repo2=_s3_repo(9443, "/etc/ca.crt"))

    text = render_config(cfg)

    for line in ["repo2-type=s3", f"repo2-s3-bucket={BUCKET}", "repo2-s3-endpoint=localhost",
                 "repo2-s3-region=eu-central-1", "repo2-s3-uri-style=path", "repo2-storage-port=9443",
                 "repo2-storage-ca-file=/etc/ca.crt", "repo2-path=/pgbackrest"]:  # fmt: skip
        assert line in text.splitlines()
    assert "s3-key" not in text and "verify-tls" not in text
    bad = stanza_config(Path("/tmp/x"), repo2=Repo(2, "/p", 30, s3=S3Storage(bucket="b\nrepo2-path=/", endpoint="e",
                                                                                region="r")))  # fmt: skip
    with pytest.raises(DriverError, match="repo2 S3 bucket .* is refused"):
        render_config(bad)
