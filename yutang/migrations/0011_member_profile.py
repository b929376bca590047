from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0010_tenant_domains')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='avatar_url',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        ops.AddField(
            model_name='Member',
            name='birthday',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Member',
            name='gender',
            field=fields.CharField(default='unknown', db_default='unknown', max_length=8),
        ),
        ops.AddField(
            model_name='Member',
            name='region',
            field=fields.CharField(default='', db_default='', max_length=6),
        ),
        ops.AddIndex(
            model_name='Member',
            index=Index(fields=['tenant_id', 'paid_spend', 'id']),
        ),
        ops.AddIndex(
            model_name='Order',
            index=Index(fields=['tenant_id', 'created_at']),
        ),
    ]
