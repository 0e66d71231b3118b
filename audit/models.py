from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

VIA_CHOICES = [(v, v) for v in ("admin", "api", "hook", "command", "task", "system")]


class AuditEntry(models.Model):
    """One write to the console: who (person, service account, command or task, by token or session, from where),
    what (the object) and how (created, changed field by field, deleted, or a status transition).

    Written in the transaction of the change it records (audit.recorder), and never changed afterwards.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Empty when the system, a command or a task acted without a user.",
    )  # fmt: skip
    actor_label = models.CharField(max_length=200, help_text="Who, as shown when the row was written.")
    via = models.CharField(max_length=10, choices=VIA_CHOICES)
    token_prefix = models.CharField(max_length=40, blank=True, help_text="The API token's display prefix.")
    session = models.BooleanField(default=False, help_text="Authenticated by a session cookie.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=100, help_text="create, update, delete or a status change (status: a → b).")
    changes = models.JSONField(default=dict, blank=True, help_text="Field → [old, new].")

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["content_type", "object_id", "-at"], name="audit_object_recent")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)
