# Masking rules name schema.table.column (issue 20): every existing rule was written for the one schema the
# console read, public, so the new field's default converts them (AddField fills existing rows with 'public').

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('refreshes', '0004_refreshrun_refresh_run_latest_status'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='maskingrule',
            options={'ordering': ['schema', 'table', 'column']},
        ),
        migrations.RemoveConstraint(
            model_name='maskingrule',
            name='masking_rule_unique_column',
        ),
        migrations.AddField(
            model_name='historicalmaskingrule',
            name='schema',
            field=models.CharField(default='public', help_text="The table's schema in production: public, or crm, audit...", max_length=63, validators=[django.core.validators.RegexValidator('^[a-z_][a-z0-9_]*$', "Use the schema's, table's or column's SQL name: lower case, digits, _.")]),
        ),
        migrations.AddField(
            model_name='maskingrule',
            name='schema',
            field=models.CharField(default='public', help_text="The table's schema in production: public, or crm, audit...", max_length=63, validators=[django.core.validators.RegexValidator('^[a-z_][a-z0-9_]*$', "Use the schema's, table's or column's SQL name: lower case, digits, _.")]),
        ),
        migrations.AlterField(
            model_name='historicalmaskingrule',
            name='column',
            field=models.CharField(blank=True, help_text='Blank: the whole table.', max_length=63, validators=[django.core.validators.RegexValidator('^[a-z_][a-z0-9_]*$', "Use the schema's, table's or column's SQL name: lower case, digits, _.")]),
        ),
        migrations.AlterField(
            model_name='historicalmaskingrule',
            name='table',
            field=models.CharField(max_length=63, validators=[django.core.validators.RegexValidator('^[a-z_][a-z0-9_]*$', "Use the schema's, table's or column's SQL name: lower case, digits, _.")]),
        ),
        migrations.AlterField(
            model_name='maskingrule',
            name='column',
            field=models.CharField(blank=True, help_text='Blank: the whole table.', max_length=63, validators=[django.core.validators.RegexValidator('^[a-z_][a-z0-9_]*$', "Use the schema's, table's or column's SQL name: lower case, digits, _.")]),
        ),
        migrations.AlterField(
            model_name='maskingrule',
            name='table',
            field=models.CharField(max_length=63, validators=[django.core.validators.RegexValidator('^[a-z_][a-z0-9_]*$', "Use the schema's, table's or column's SQL name: lower case, digits, _.")]),
        ),
        migrations.AddConstraint(
            model_name='maskingrule',
            constraint=models.UniqueConstraint(fields=('schema', 'table', 'column'), name='masking_rule_unique_schema_column'),
        ),
    ]
