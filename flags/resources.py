"""The flag matrix as a django-import-export resource: one row per flag, one boolean column per environment.

Importing needs the change permission for flags and their values (the admin checks it before reading a file).
A flag's own fields go through services.save_flag and every cell through services.set_state, so imports follow
the admin's rules (production cells become change requests) and are audited with the importing user and reason
"import". A new flag's cells start from the strategy's rule (§2), never from the file.
A bad file changes nothing: any row error blocks the confirm step, and the dry run is rolled back.
"""

from django.core.exceptions import ValidationError
from import_export import fields, resources

from environments.public import Environment
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

    def import_data(self, dataset, **kwargs):
        # A row refused at the confirm step (a permission, say) must undo the rows before it: all or nothing.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, **kwargs)

    def save_instance(self, instance, is_create, row, **kwargs):
        """The flag's own fields through services.save_flag (permission checked; a new flag's cells by §2's rule)."""
        from flags import services

        user = kwargs.get("user")
        if not is_create and not self._edited(instance):
            return self.after_save_instance(instance, row, **kwargs)  # unchanged: no history row, no audit row
        try:
            services.save_flag(flag=instance, actor=user, reason="import")
        except FlagError as exc:
            raise ValidationError(str(exc)) from exc
        self.after_save_instance(instance, row, **kwargs)

    @staticmethod
    def _edited(flag) -> bool:
        stored = Flag.objects.filter(pk=flag.pk).values(*FLAG_COLUMNS).first()
        return stored != {name: getattr(flag, name) for name in FLAG_COLUMNS}

    def after_save_instance(self, instance, row, **kwargs):
        """Every cell the file sets goes through set_state: permissions, and production becomes a change request."""
        from flags import services

        user = kwargs.get("user")
        if FlagState.objects.filter(flag=instance).count() < len(self.environments):
            services.create_missing_states(flag_id=instance.pk, actor=user)  # an environment added since
        states = {s.environment_id: s.pk for s in FlagState.objects.filter(flag=instance)}
        for env in self.environments:
            value = row.get(env.key)
            if value in (None, "") or env.pk not in states:
                continue
            try:
                services.set_state(
                    state_id=states[env.pk], enabled=parse_bool(value), actor=user, reason="import", source="import"
                )
            except FlagError as exc:
                raise ValidationError({env.key: str(exc)}) from exc
