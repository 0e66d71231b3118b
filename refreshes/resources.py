"""Masking rules in and out as YAML or CSV (django-import-export), keyed by table + column.

Every row is saved by services.save_masking_rule, as the admin form is: the importing user needs the add or change
permission for each rule it touches, and a rule that keeps a personal column is refused. All or nothing.
"""

import json

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from refreshes import services
from refreshes.exceptions import RefreshError
from refreshes.models import MaskingRule


class JSONWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return {}
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError(f"params must be a JSON object, not {value!r}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"params must be a JSON object, not {value!r}")
        return parsed

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value or {}, sort_keys=True)


class MaskingRuleResource(resources.ModelResource):
    params = fields.Field(attribute="params", column_name="params", widget=JSONWidget())

    class Meta:
        model = MaskingRule
        import_id_fields = ["table", "column"]
        fields = ["table", "column", "strategy", "params", "note"]
        export_order = ["table", "column", "strategy", "params", "note"]
        skip_unchanged = True
        report_skipped = False
        clean_model_instances = True  # full_clean(): a bad rule is reported and nothing is imported
        use_transactions = True  # the preview is a rolled-back run of save_masking_rule

    def import_data(self, dataset, **kwargs):
        # A row refused at the confirm step (a permission, say) must undo the rows before it.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, **kwargs)

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            services.save_masking_rule(rule=instance, actor=kwargs.get("user"), reason="import")
        except RefreshError as exc:
            raise ValidationError(str(exc)) from exc
