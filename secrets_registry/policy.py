"""The least-privilege IAM policy per environment, exported for the infrastructure repository (the console
never applies IAM itself): each service account gets GetSecretValue on exactly the references it may read."""

from secrets_registry import conf
from secrets_registry.models import SecretReference


def resource_arn(reference) -> str:
    if reference.arn:
        return reference.arn
    # Secrets Manager appends six random characters to a secret's ARN: AWS's documented wildcard for them.
    return f"arn:aws:secretsmanager:{reference.region}:{conf.account_id()}:secret:{reference.name}-??????"


def export(environment) -> dict:
    references = (SecretReference.objects.filter(environment=environment).prefetch_related("allowed_readers")
                  .order_by("name"))  # fmt: skip
    by_account, people = {}, []
    for reference in references:
        for account in reference.allowed_readers.all():
            if account.is_person:
                people.append({"secret": reference.name, "reader": account.name,
                               "problem": "a person may read it: §7 says service accounts only"})  # fmt: skip
                continue
            by_account.setdefault(account, []).append(resource_arn(reference))
    policies = [
        {
            "service_account": account.name,
            "principal": account.principal_arn,
            "policy_document": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "ReadOwnSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": sorted(arns),
                }],
            },
        }
        for account, arns in sorted(by_account.items(), key=lambda item: item[0].name)
    ]  # fmt: skip
    return {"environment": environment.key, "policies": policies, "flagged": people}
