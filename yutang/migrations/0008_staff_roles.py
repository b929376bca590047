from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0007_payment_plans')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(max_length=64)),
                ('action', fields.CharField(max_length=100)),
                ('plugin', fields.CharField(max_length=64)),
                ('target', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'audit_entry', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'id']), Index(fields=['tenant_id', 'actor', 'id'])], 'pk_attr': 'id', 'table_description': 'One staff action through the admin API (操作日志): who, what, on which object.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='StaffRole',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('key', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('permissions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('all_stores', fields.BooleanField(default=False)),
            ],
            options={'table': 'staff_role', 'app': 'core', 'unique_together': (('tenant', 'key'),), 'pk_attr': 'id', 'table_description': 'A role an owner made from declared permissions, assigned to staff by its ``key``.'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Order',
            name='store_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name='Order',
            index=Index(fields=['tenant_id', 'store_id', 'id']),
        ),
        ops.AlterModelOptions(
            name='Staff',
            options={'table': 'staff', 'app': 'core', 'unique_together': (('tenant', 'username'),), 'pk_attr': 'id', 'table_description': 'A staff member of a tenant, with one role: built-in or one the owner made.'},
        ),
        ops.AlterField(
            model_name='Staff',
            name='role',
            field=fields.CharField(max_length=32),
        ),
    ]
