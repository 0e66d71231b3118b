"""Admin pages for records the console writes and people only read (task results, audit, prune runs, roll-ups)."""


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, superusers included; viewing follows the model's view permission."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
