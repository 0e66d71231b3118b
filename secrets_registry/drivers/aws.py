"""AWS Secrets Manager through boto3 (imported here only). Endpoint and region come from settings."""

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from secrets_registry import conf
from secrets_registry.drivers.base import (
    PENDING,
    ManagerError,
    ManagerUnavailable,
    SecretDescription,
    SecretManager,
    SecretNotFound,
)

_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})


class AwsSecretsManager(SecretManager):
    def __init__(self, region: str | None = None, endpoint_url: str | None = None):
        self.region = region or conf.region()
        self.endpoint_url = endpoint_url or conf.endpoint_url()
        self.client = boto3.client(
            "secretsmanager", region_name=self.region, endpoint_url=self.endpoint_url, config=_CONFIG
        )

    def _call(self, operation, name, **kwargs):
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise SecretNotFound(f"{name} not found in the manager ({self.region})") from None
            # The manager's message names the secret and the problem; it never echoes SecretString.
            message = exc.response.get("Error", {}).get("Message", "")[:200]
            raise ManagerError(f"{operation} {name}: {code} {message}".strip()) from None
        except EndpointConnectionError:
            raise ManagerUnavailable(f"the secret manager ({self.region}) did not answer") from None
        except BotoCoreError as exc:
            raise ManagerUnavailable(f"{operation} {name}: {type(exc).__name__}") from None

    def describe(self, name):
        data = self._call("describe_secret", name, SecretId=name)
        if data.get("DeletedDate"):
            raise SecretNotFound(f"{name} is scheduled for deletion in the manager ({self.region})")
        return SecretDescription(
            name=data.get("Name", name),
            arn=data.get("ARN", ""),
            versions={vid: list(stages) for vid, stages in (data.get("VersionIdsToStages") or {}).items()},
            replicas={r["Region"]: r.get("Status", "") for r in data.get("ReplicationStatus") or []},
        )

    def get_value(self, name, *, version_id=None, stage=None):
        kwargs = {"SecretId": name}
        if version_id:
            kwargs["VersionId"] = version_id
        if stage:
            kwargs["VersionStage"] = stage
        data = self._call("get_secret_value", name, **kwargs)
        return data["SecretString"], data["VersionId"]

    def put_pending(self, name, *, token, value):
        data = self._call("put_secret_value", name, SecretId=name, ClientRequestToken=token, SecretString=value,
                          VersionStages=[PENDING])  # fmt: skip
        return data["VersionId"]

    def promote(self, name, *, version_id, from_version_id):
        if from_version_id and from_version_id != version_id:
            self._call("update_secret_version_stage", name, SecretId=name, VersionStage="AWSCURRENT",
                       MoveToVersionId=version_id, RemoveFromVersionId=from_version_id)  # fmt: skip
        self._call("update_secret_version_stage", name, SecretId=name, VersionStage=PENDING,
                   RemoveFromVersionId=version_id)  # fmt: skip

    def label(self, name, *, stage, version_id):
        holder = self.describe(name).version_with(stage)
        if holder == version_id:
            return
        kwargs = {"RemoveFromVersionId": holder} if holder else {}
        self._call("update_secret_version_stage", name, SecretId=name, VersionStage=stage, MoveToVersionId=version_id,
                   **kwargs)  # fmt: skip

    def unlabel(self, name, *, stage):
        holder = self.describe(name).version_with(stage)
        if holder:
            self._call("update_secret_version_stage", name, SecretId=name, VersionStage=stage,
                       RemoveFromVersionId=holder)  # fmt: skip

    def create(self, name, *, value, replica_regions=()):
        kwargs = {"Name": name, "SecretString": value}
        if replica_regions:
            kwargs["AddReplicaRegions"] = [{"Region": r} for r in replica_regions]
        return self._call("create_secret", name, **kwargs)["ARN"]

    def replicate(self, name, regions):
        self._call("replicate_secret_to_regions", name, SecretId=name,
                   AddReplicaRegions=[{"Region": r} for r in regions])  # fmt: skip

    def remove_replica(self, name, region):
        self._call("remove_regions_from_replication", name, SecretId=name, RemoveReplicaRegions=[region])

    def delete(self, name):
        replicas = list(self.describe(name).replicas)
        if replicas:
            self._call("remove_regions_from_replication", name, SecretId=name, RemoveReplicaRegions=replicas)
        self._call("delete_secret", name, SecretId=name, ForceDeleteWithoutRecovery=True)
