"""The vocabulary of §3 of the strategy and of the flag lifecycle, as choices the console acts on."""

from django.db import models


class Category(models.TextChoices):
    COMMERCE = "commerce", "Commerce"
    DISCOVERY = "discovery", "Discovery"
    CONTENT = "content", "Content"
    UI = "ui", "UI"
    EXPERIMENTAL = "experimental", "Experimental"


class Kind(models.TextChoices):
    RELEASE = "release", "Release"
    OPERATIONAL = "operational", "Operational"
    EXPERIMENT = "experiment", "Experiment"
    KILL_SWITCH = "kill_switch", "Kill switch"
    PERMISSION = "permission", "Permission"


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPLIED = "applied", "Approved and applied"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ChangeKind(models.TextChoices):
    SET = "set", "Set the value"
    DELETE = "delete", "Delete the flag"


CHANGE_REQUEST_TRANSITIONS = {
    ChangeRequestStatus.PENDING: {
        ChangeRequestStatus.APPLIED,
        ChangeRequestStatus.REJECTED,
        ChangeRequestStatus.CANCELLED,
    },
    ChangeRequestStatus.APPLIED: set(),
    ChangeRequestStatus.REJECTED: set(),
    ChangeRequestStatus.CANCELLED: set(),
}


class ScheduledChangeStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    CHANGE_REQUESTED = "change_requested", "Sent for approval"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


SCHEDULED_CHANGE_TRANSITIONS = {
    ScheduledChangeStatus.SCHEDULED: {ScheduledChangeStatus.APPLYING, ScheduledChangeStatus.CANCELLED},
    ScheduledChangeStatus.APPLYING: {
        ScheduledChangeStatus.APPLIED,
        ScheduledChangeStatus.CHANGE_REQUESTED,
        ScheduledChangeStatus.FAILED,
    },
    ScheduledChangeStatus.APPLIED: set(),
    ScheduledChangeStatus.CHANGE_REQUESTED: set(),
    ScheduledChangeStatus.FAILED: set(),
    ScheduledChangeStatus.CANCELLED: set(),
}


CHANGE_PERMISSION = "flags.change_flagstate"
PRODUCTION_PERMISSION = "flags.change_production_flags"
ADD_FLAG_PERMISSION = "flags.add_flag"
EDIT_FLAG_PERMISSION = "flags.change_flag"
DELETE_FLAG_PERMISSION = "flags.delete_flag"
# An import touches the flags (key, owner, kind...) and their cells: it needs the change permission for both.
IMPORT_PERMISSIONS = (EDIT_FLAG_PERMISSION, CHANGE_PERMISSION)
