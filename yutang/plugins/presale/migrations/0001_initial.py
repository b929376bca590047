from tortoise import migrations

from yutang.api import check_constraints
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0007_payment_plans')]

    initial = True

    operations = [
        ops.CreateModel(
            name='PresaleActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('sku_id', fields.BigIntField()),
                ('product_id', fields.BigIntField()),
                ('deposit', fields.BigIntField()),
                ('deduction', fields.BigIntField()),
                ('price', fields.BigIntField()),
                ('deposit_starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deposit_ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('balance_starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('balance_ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('stock', fields.IntField()),
                ('reserved', fields.IntField(default=0)),
                ('member_limit', fields.IntField()),
                ('refund_forfeited', fields.BooleanField(default=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'presale_activity', 'app': 'presale', 'constraints': [CheckConstraint(check='reserved >= 0 AND reserved <= stock', name='presale_activity_reserved')], 'indexes': [Index(fields=['tenant_id', 'product_id']), Index(fields=['tenant_id', 'balance_ends_at'])], 'pk_attr': 'id', 'table_description': 'A deposit presale (定金膨胀) of one SKU.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='PresaleOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('activity', fields.ForeignKeyField('presale.PresaleActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('order_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('quantity', fields.IntField()),
                ('deposit', fields.BigIntField()),
                ('status', fields.CharField(default='deposit_due', max_length=16)),
                ('deposit_paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('balance_paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'presale_order', 'app': 'presale', 'unique_together': (('tenant', 'order_id'),), 'indexes': [Index(fields=['tenant_id', 'activity_id', 'status']), Index(fields=['tenant_id', 'member_id', 'id'])], 'pk_attr': 'id', 'table_description': 'An order placed in a presale: its units and deposit, and how far it got.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='PresaleQuota',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('presale.PresaleActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='quotas', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('taken', fields.IntField(default=0)),
            ],
            options={'table': 'presale_quota', 'app': 'presale', 'unique_together': (('tenant', 'activity', 'member_id'),), 'constraints': [CheckConstraint(check='taken >= 0', name='presale_quota_not_negative')], 'pk_attr': 'id', 'table_description': 'The units a member holds in an activity (unpaid orders count), for its limit.'},
            bases=['TenantModel'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('presale_activity', 'presale_activity_reserved', 'reserved >= 0 AND reserved <= stock'),
            ('presale_quota', 'presale_quota_not_negative', 'taken >= 0'),
        ),
    ]
