"""§9 Files/Assets: read each bucket's settings through the S3 API and flag drift from the strategy."""

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from backups.choices import AlertKind
from backups.models import AssetBucket
from backups.services import raise_alert, resolve_alert


def _client(bucket):
    # Credentials come from the worker's environment (the usual AWS variables or role); never from the database.
    return boto3.client("s3", region_name=bucket.region, endpoint_url=bucket.endpoint_url or None,
                        config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=10))  # fmt: skip


def _code(exc):
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def inspect(bucket: AssetBucket) -> list[str]:
    """What differs from §9 (versioning on, noncurrent versions kept N days, replication on); [] when none."""
    s3 = _client(bucket)
    findings = []
    if s3.get_bucket_versioning(Bucket=bucket.name).get("Status") != "Enabled":
        findings.append("versioning is not enabled")
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket.name).get("Rules", [])
    except ClientError as exc:
        if _code(exc) != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    kept = [r["NoncurrentVersionExpiration"].get("NoncurrentDays") for r in rules
            if r.get("Status") == "Enabled" and "NoncurrentVersionExpiration" in r]  # fmt: skip
    if not kept:
        findings.append(f"no lifecycle rule expires noncurrent versions after {bucket.noncurrent_days} days")
    elif min(kept) != bucket.noncurrent_days:
        findings.append(f"noncurrent versions kept {min(kept)} days, not {bucket.noncurrent_days}")
    if bucket.replication_required:
        try:
            replication = s3.get_bucket_replication(Bucket=bucket.name)["ReplicationConfiguration"]
            if not any(r.get("Status") == "Enabled" for r in replication.get("Rules", [])):
                findings.append("replication rules are all disabled")
        except ClientError as exc:
            if _code(exc) != "ReplicationConfigurationNotFoundError":
                raise
            findings.append("replication is not configured")
    return findings


def check_bucket(*, bucket_id: int) -> AssetBucket:
    bucket = AssetBucket.objects.select_related("environment").get(pk=bucket_id)
    try:
        findings = inspect(bucket)
    except (ClientError, BotoCoreError) as exc:
        findings = [f"cannot read the bucket's settings: {exc}"[:300]]
    AssetBucket.objects.filter(pk=bucket.pk).update(
        last_checked_at=timezone.now(), last_ok=not findings, last_findings=findings
    )
    bucket.refresh_from_db()
    if findings:
        raise_alert(bucket=bucket, kind=AlertKind.BUCKET_DRIFT, summary=f"{bucket.name}: {'; '.join(findings)}")
    else:
        resolve_alert(bucket=bucket, kind=AlertKind.BUCKET_DRIFT)
    return bucket
