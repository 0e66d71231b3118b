"""Fast SQL fills from a model's fields: INSERT … SELECT over generate_series, for the year of data.

`fill(Model, {"field": "SQL expression"}, "FROM clause")` names only what matters; every other column gets
NULL when nullable, else the field's default, now() for auto_now fields, or a zero of its type. So a field
another app adds later (with a Python default, as Django's migrations leave it) does not break the fill.
"""

import uuid

from django.db import connection
from django.utils import timezone

_ZERO = {
    "CharField": "''",
    "TextField": "''",
    "SlugField": "''",
    "EmailField": "''",
    "URLField": "''",
    "GenericIPAddressField": "'127.0.0.1'",
    "BooleanField": "false",
    "IntegerField": "0",
    "BigIntegerField": "0",
    "SmallIntegerField": "0",
    "PositiveIntegerField": "0",
    "PositiveBigIntegerField": "0",
    "PositiveSmallIntegerField": "0",
    "FloatField": "0",
    "DecimalField": "0",
    "DateTimeField": "now()",
    "DateField": "current_date",
    "TimeField": "current_time",
    "DurationField": "interval '0'",
    "JSONField": "'{}'::jsonb",
    "UUIDField": "gen_random_uuid()",
}


def _default(field):
    """(SQL expression, params) for a column the fill does not name."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "now()", []
    if field.has_default():
        default = field.default
        if default is dict:
            return "'{}'::jsonb", []
        if default is list:
            return "'[]'::jsonb", []
        if default is uuid.uuid4:
            return "gen_random_uuid()", []
        if default is timezone.now:
            return "now()", []
        value = default() if callable(default) else default
        return "%s", [field.get_db_prep_save(value, connection)]
    kind = field.get_internal_type()
    if kind in _ZERO:
        return _ZERO[kind], []
    raise ValueError(
        f"{field.model.__name__}.{field.name} ({kind}) is required and has no default: name it in the fill"
    )


def fill(model, values, source):
    """INSERT INTO <model's table> SELECT <values, defaults> <source>; returns the number of rows inserted.

    `values` and `source` are SQL written here, never user input; their % is SQL's modulo, not a placeholder.
    """
    columns, expressions, default_params = [], [], []
    given = {model._meta.get_field(name).column: sql.replace("%", "%%") for name, sql in values.items()}
    for field in model._meta.concrete_fields:
        if field.column in given:
            expression = given.pop(field.column)
        elif field.primary_key and field.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
            continue
        elif field.null:
            continue
        else:
            expression, extra = _default(field)
            default_params += extra
        columns.append(connection.ops.quote_name(field.column))
        expressions.append(expression)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {source.replace('%', '%%')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, default_params)
        return cursor.rowcount


def fill_history(model, *, date_sql, where="true", user_sql="NULL", history_type="+", reason_sql="NULL"):
    """One simple-history record per matching row of `model` (aliased b), as if each had been saved once."""
    history = model.history.model
    base_columns = {f.column for f in model._meta.concrete_fields}
    values = {
        f.name: f"b.{connection.ops.quote_name(f.column)}"
        for f in history._meta.concrete_fields
        if not f.name.startswith("history_") and f.column in base_columns
    }
    values |= {
        "history_date": date_sql,
        "history_type": f"'{history_type}'",
        "history_user": user_sql,
        "history_change_reason": reason_sql,
    }
    table = connection.ops.quote_name(model._meta.db_table)
    return fill(history, values, f"FROM {table} b WHERE {where} ORDER BY b.id")


def execute(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
