"""Masking rules in and out as YAML or CSV (django-import-export), keyed by schema + table + column.

A file in the old 2-part form (no `schema` column, tables named bare) is read as schema public, and the admin says so:
that is what such a file meant when the console read only public. A table written `crm.contacts` in the `table`
column is split into its schema and table.

Every row is saved by services.save_masking_rule, as the admin form is: the importing user needs the add or change
permission for each rule it touches, and a rule that keeps a personal column is refused. All or nothing.
"""

import json

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from refreshes.exceptions import RefreshError
from refreshes.models import MaskingRule
from refreshes.rules import split_table


def two_part_rows(dataset) -> int:
    """How many rows of `dataset` name their table without a schema (the old 2-part form)."""
    if "table" not in (dataset.headers or []):
        return 0
    has_schema = "schema" in dataset.headers
    count = 0
    for row in dataset.dict:
        if not (has_schema and (row.get("schema") or "").strip()) and "." not in (row.get("table") or ""):
            count += 1
    return count


def qualify(dataset):
    """Give every row a schema: "crm.contacts" in `table` is split, a bare table is in public. In place."""
    if "table" not in (dataset.headers or []):
        return dataset
    if "schema" not in dataset.headers:
        dataset.append_col([""] * dataset.height, header="schema")
    schema_at, table_at = dataset.headers.index("schema"), dataset.headers.index("table")
    rows = []
    for row in dataset:
        row = list(row)
        table = (row[table_at] or "").strip()
        if not (row[schema_at] or "").strip():
            schema, table = split_table(table)
            row[schema_at], row[table_at] = schema, table
        rows.append(row)
    headers = dataset.headers
    dataset.wipe()
    dataset.headers = headers
    for row in rows:
        dataset.append(row)
    return dataset


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
        import_id_fields = ["schema", "table", "column"]
        fields = ["schema", "table", "column", "strategy", "params", "note"]
        export_order = ["schema", "table", "column", "strategy", "params", "note"]
        skip_unchanged = True
        report_skipped = False
        clean_model_instances = True  # full_clean(): a bad rule is reported and nothing is imported
        use_transactions = True  # the preview is a rolled-back run of save_masking_rule

    def __init__(self, note=None, **kwargs):
        super().__init__(**kwargs)
        self.note = note or (lambda text: None)

    def before_import(self, dataset, **kwargs):
        old_form = two_part_rows(dataset)
        if old_form:
            self.note(
                f"{old_form} row(s) name their table without a schema (the old table,column form): they were read "
                "as schema public (public.<table>.<column>). Add a `schema` column, or write crm.contacts in `table`, "
                "to rule another schema."
            )
        qualify(dataset)
        return super().before_import(dataset, **kwargs)

    def import_data(self, dataset, **kwargs):
        # A row refused at the confirm step (a permission, say) must undo the rows before it.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, **kwargs)

    def save_instance(self, instance, is_create, row, **kwargs):
        from refreshes import services

        try:
            services.save_masking_rule(rule=instance, actor=kwargs.get("user"), reason="import")
        except RefreshError as exc:
            raise ValidationError(str(exc)) from exc
