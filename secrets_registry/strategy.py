"""What §7 says about secrets, as seed data: the production variables, who owns and reads them, how they rotate."""

from secrets_registry.choices import AccountKind, RotationKind, RotationTarget

CHECK_TASK = "secrets_registry.check_all_secrets"
ROTATE_DUE_TASK = "secrets_registry.rotate_due_secrets"
RESUME_TASK = "secrets_registry.resume_stalled_rotations"

# (name, kind, IAM principal, description)
SERVICE_ACCOUNTS = [
    ("storefront-production", AccountKind.SERVICE, "arn:aws:iam::{account}:role/amarise-storefront-production",
     "The storefront's production pods"),
    ("ops-console", AccountKind.SERVICE, "arn:aws:iam::{account}:role/amarise-ops-console",
     "This console's workers (they rotate the database password)"),
]  # fmt: skip

DATABASE_ROTATION = {
    "rotation_target": RotationTarget.POSTGRES_ROLE,
    "target_role": "amarise_app",
    "admin_url_variable": "PRODUCTION_DATABASE_ADMIN_URL",
}

# The §7 production variables: (variable, owner, rotation kind, readers, extra values)
PRODUCTION_SECRETS = [
    ("DATABASE_URL", "platform team", RotationKind.AUTOMATIC, ["storefront-production", "ops-console"],
     DATABASE_ROTATION),
    ("API_URL", "platform team", RotationKind.NONE, ["storefront-production"], {}),
    ("SITE_URL", "platform team", RotationKind.NONE, ["storefront-production"], {}),
    ("STRIPE_SECRET_KEY", "payments team", RotationKind.MANUAL, ["storefront-production"], {}),
    ("EMAIL_API_KEY", "growth team", RotationKind.MANUAL, ["storefront-production"], {}),
    ("STORAGE_BUCKET", "platform team", RotationKind.NONE, ["storefront-production"], {}),
    ("ANALYTICS_ID", "growth team", RotationKind.NONE, ["storefront-production"], {}),
]  # fmt: skip
