from django.core.management.base import CommandError

from backups.models import ProtectedDatabase


def protected_database(key):
    database = ProtectedDatabase.objects.select_related("policy", "environment").filter(environment__key=key).first()
    if database is None:
        known = ", ".join(ProtectedDatabase.objects.values_list("environment__key", flat=True)) or "none"
        raise CommandError(f"No protected database for environment {key!r} (protected: {known}).")
    return database
