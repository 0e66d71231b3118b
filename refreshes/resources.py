"""Masking rules in and out as YAML or CSV (django-import-export), keyed by table + column."""

import json

from import_export import fields, resources, widgets

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
