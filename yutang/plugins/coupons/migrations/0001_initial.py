from tortoise import migrations

from yutang.api import check_constraints
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CouponsTemplate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharField(max_length=16)),
                ('value', fields.BigIntField()),
                ('max_discount', fields.BigIntField(null=True)),
                ('min_spend', fields.BigIntField(default=0)),
                ('scope', fields.CharField(default='all', max_length=16)),
                ('scope_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('valid_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_days', fields.IntField(null=True)),
                ('total', fields.IntField(null=True)),
                ('issued', fields.IntField(default=0)),
                ('granted', fields.IntField(default=0)),
                ('per_member', fields.IntField(default=1)),
                ('claimable', fields.BooleanField(default=True)),
                ('stacks', fields.BooleanField(default=True)),
                ('return_on_refund', fields.BooleanField(default=False)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'coupons_template', 'app': 'coupons', 'constraints': [CheckConstraint(check='total IS NULL OR issued <= total', name='coupons_template_not_over_issued')], 'pk_attr': 'id', 'table_description': 'A kind of coupon: fixed amount or percentage (with a maximum), minimum spend, scope,'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='CouponsCoupon',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('template', fields.ForeignKeyField('coupons.CouponsTemplate', source_field='template_id', db_constraint=True, to_field='id', related_name='coupons', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='unused', max_length=16)),
                ('order_id', fields.BigIntField(null=True)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reference', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'coupons_coupon', 'app': 'coupons', 'unique_together': (('tenant', 'reference'),), 'indexes': [Index(fields=['tenant_id', 'member_id', 'status']), Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': "A member's coupon. ``status``: unused, locked (by an unpaid order), used, void."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='CouponsHolding',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('template', fields.ForeignKeyField('coupons.CouponsTemplate', source_field='template_id', db_constraint=True, to_field='id', related_name='holdings', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('claimed', fields.IntField(default=0)),
            ],
            options={'table': 'coupons_holding', 'app': 'coupons', 'unique_together': (('template', 'member_id'),), 'pk_attr': 'id', 'table_description': "How many coupons of a template a member claimed: the per-member limit's counter,"},
            bases=['TenantModel'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('coupons_template', 'coupons_template_not_over_issued', 'total IS NULL OR issued <= total'),
        ),
    ]
