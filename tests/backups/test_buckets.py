"""§9 Files/Assets bucket check through the S3 API.

moto's server mode stands in for the paid cloud (AWS S3): a real HTTP S3 endpoint on a local port, driven by
boto3 exactly as in production. Nothing else is mocked.
"""

import subprocess
import sys

import boto3
import pytest
import requests

from backups import buckets
from backups.choices import AlertKind
from backups.drivers.cluster import free_port
from backups.models import AssetBucket
from tests.backups.conftest import backup_alert
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(url, timeout=0.5).status_code < 500
        except requests.RequestException:
            return False

    wait_until(up, timeout=30, what="moto's S3 server")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def s3(s3_server, monkeypatch):
    for name, value in [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "eu-west-1")]:  # fmt: skip
        monkeypatch.setenv(name, value)
    return boto3.client("s3", region_name="eu-west-1", endpoint_url=s3_server)


def _bucket(s3, name, *, versioning=True, noncurrent_days=90, replication=True):
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if noncurrent_days:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "keep-noncurrent", "Status": "Enabled", "Filter": {"Prefix": ""},
             "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days}}]})  # fmt: skip
    if replication:
        s3.create_bucket(Bucket=f"{name}-replica", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket=f"{name}-replica", VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_replication(Bucket=name, ReplicationConfiguration={
            "Role": "arn:aws:iam::123456789012:role/replication",
            "Rules": [{"ID": "cross-region", "Status": "Enabled", "Priority": 1, "Filter": {"Prefix": ""},
                       "DeleteMarkerReplication": {"Status": "Enabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{name}-replica"}}]})  # fmt: skip


def _point_at(s3_server, name):
    bucket = AssetBucket.objects.get()
    AssetBucket.objects.filter(pk=bucket.pk).update(name=name, endpoint_url=s3_server)
    return bucket


def test_check_bucket__as_the_strategy_says__ok_and_no_alert(backups_seeded, s3, s3_server):
    _bucket(s3, "assets-compliant")
    bucket = _point_at(s3_server, "assets-compliant")

    bucket = buckets.check_bucket(bucket_id=bucket.pk)

    assert bucket.last_ok and bucket.last_findings == [] and bucket.last_checked_at
    assert not backup_alert(AlertKind.BUCKET_DRIFT)


def test_check_bucket__drifted__each_difference_flagged_with_an_alert(backups_seeded, s3, s3_server):
    _bucket(s3, "assets-drifted", versioning=False, noncurrent_days=30, replication=False)
    bucket = _point_at(s3_server, "assets-drifted")

    bucket = buckets.check_bucket(bucket_id=bucket.pk)

    assert not bucket.last_ok
    assert bucket.last_findings == ["versioning is not enabled", "noncurrent versions kept 30 days, not 90",
                                    "replication is not configured"]  # fmt: skip
    alert = backup_alert(AlertKind.BUCKET_DRIFT)
    assert "versioning is not enabled" in alert.summary and alert.labels["bucket"] == "assets-drifted"
    assert alert.severity == "warning" and alert.incident is None


def test_check_bucket__missing_bucket__clear_finding(backups_seeded, s3, s3_server):
    bucket = _point_at(s3_server, "assets-nobody-made")

    bucket = buckets.check_bucket(bucket_id=bucket.pk)

    assert not bucket.last_ok and bucket.last_findings[0].startswith("cannot read the bucket's settings")
    assert "NoSuchBucket" in bucket.last_findings[0]
