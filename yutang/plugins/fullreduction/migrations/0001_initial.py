from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='FullreductionAward',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('rule_id', fields.BigIntField()),
                ('label', fields.CharField(max_length=200)),
                ('points', fields.IntField(default=0)),
                ('coupon', fields.CharField(default='', max_length=100)),
                ('coupon_count', fields.IntField(default=0)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('note', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'fullreduction_award', 'app': 'fullreduction', 'unique_together': (('tenant', 'order_id', 'rule_id'),), 'pk_attr': 'id', 'table_description': "Points or coupons an order earned from a rule's tier, granted after payment."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='FullreductionGuard',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'fullreduction_guard', 'app': 'fullreduction', 'unique_together': (('tenant',),), 'pk_attr': 'id', 'table_description': 'One row per tenant, locked while a rule is saved so two overlapping rules saved at'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='FullreductionRule',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('scope', fields.CharField(max_length=16)),
                ('scope_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('mode', fields.CharField(max_length=16)),
                ('tiers', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('cap', fields.BigIntField(null=True)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'fullreduction_rule', 'app': 'fullreduction', 'indexes': [Index(fields=['tenant_id', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'A full-reduction rule (满减送): a time window, a scope and its tiers.'},
            bases=['Timestamped'],
        ),
    ]
