"""The flag matrix as a django-import-export resource: one row per flag, one boolean column per environment.

Every cell an import changes goes through services.set_state, so imports follow the admin's rules
(production change requests included) and are audited with the importing user and reason "import".
A bad file changes nothing: any row error blocks the confirm step, and the dry run is rolled back.
"""

from django.core.exceptions import ValidationError
from import_export import fields, resources

from environments.public import Environment
from flags import services
from flags.exceptions import FlagError
from flags.models import Flag, FlagState

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}
FLAG_COLUMNS = ["key", "category", "description", "owner", "kind"]


def parse_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower() if value is not None else ""
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean (use true or false)")


class FlagMatrixResource(resources.ModelResource):
    class Meta:
        model = Flag
        import_id_fields = ["key"]
        fields = FLAG_COLUMNS
        export_order = FLAG_COLUMNS
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.environments = list(Environment.objects.order_by("order"))
        for env in self.environments:
            self.fields[env.key] = fields.Field(
                column_name=env.key, dehydrate_method=lambda flag, env=env: self._cell(flag, env)
            )
        self._seen_keys = set()

    def _cell(self, flag, env):
        for state in flag.states.all():
            if state.environment_id == env.pk:
                return state.enabled
        return None

    def get_export_queryset(self, request=None):
        return Flag.objects.prefetch_related("states").order_by("category", "key")

    def before_import(self, dataset, **kwargs):
        known = {env.key for env in self.environments} | set(FLAG_COLUMNS)
        headers = [str(h).strip() for h in (dataset.headers or [])]
        unknown = [h for h in headers if h not in known]
        if unknown:
            raise ValueError(f"Unknown environment or column: {', '.join(unknown)}. Known environments: "
                             f"{', '.join(env.key for env in self.environments)}.")  # fmt: skip
        if "key" not in headers:
            raise ValueError("The file needs a 'key' column.")
        self._seen_keys = set()

    def before_import_row(self, row, **kwargs):
        key = str(row.get("key") or "").strip()
        errors = {}
        if key in self._seen_keys:
            errors["key"] = f"Duplicate key {key!r}: each flag appears once."
        self._seen_keys.add(key)
        for env in self.environments:
            if env.key in row and row[env.key] not in (None, ""):
                try:
                    parse_bool(row[env.key])
                except ValueError as exc:
                    errors[env.key] = str(exc)
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        user = kwargs.get("user")
        existing = {s.environment_id: s for s in FlagState.objects.filter(flag=instance)}
        for env in self.environments:
            value = row.get(env.key)
            value = None if value in (None, "") else parse_bool(value)
            state = existing.get(env.pk)
            if state is None:
                state = FlagState(flag=instance, environment=env, enabled=bool(value))
                state._change_reason = "import"
                state._history_user = user
                state.save()
            elif value is not None and value != state.enabled:
                try:
                    services.set_state(state_id=state.pk, enabled=value, actor=user, reason="import", source="import")
                except FlagError as exc:
                    raise ValidationError({env.key: str(exc)}) from exc

    def save_instance(self, instance, is_create, row, **kwargs):
        instance._change_reason = "import"
        instance._history_user = kwargs.get("user")
        super().save_instance(instance, is_create, row, **kwargs)
