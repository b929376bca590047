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
            name='DistributorBindingLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('member_id', fields.BigIntField()),
                ('promoter_id', fields.BigIntField()),
                ('replaced_promoter_id', fields.BigIntField(null=True)),
                ('source', fields.CharField(max_length=16)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distributor_binding_log', 'app': 'distributor', 'indexes': [Index(fields=['tenant_id', 'member_id'])], 'pk_attr': 'id', 'table_description': 'Every binding ever made, kept when latest-link-wins replaces one'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DistributorOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('first_promoter_id', fields.BigIntField()),
                ('second_promoter_id', fields.BigIntField(null=True)),
                ('store_id', fields.BigIntField(null=True)),
                ('plan', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('refund_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('accrued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distributor_order', 'app': 'distributor', 'unique_together': (('tenant', 'order_id'),), 'pk_attr': 'id', 'table_description': 'The promoters of an order and the rules in force, snapshotted when it was placed'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DistributorPromoter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('member_id', fields.BigIntField()),
                ('status', fields.CharField(max_length=16)),
                ('source', fields.CharField(max_length=16)),
                ('code', fields.CharField(max_length=16)),
                ('staff_id', fields.BigIntField(null=True)),
                ('store_id', fields.BigIntField(null=True)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('pending', fields.BigIntField(default=0)),
                ('frozen', fields.BigIntField(default=0)),
                ('available', fields.BigIntField(default=0)),
                ('withdrawing', fields.BigIntField(default=0)),
                ('withdrawn', fields.BigIntField(default=0)),
            ],
            options={'table': 'distributor_promoter', 'app': 'distributor', 'unique_together': (('tenant', 'member_id'), ('tenant', 'code')), 'constraints': [CheckConstraint(check='withdrawing >= 0', name='distributor_withdrawing_not_negative')], 'indexes': [Index(fields=['tenant_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A member who may earn commission, with the balance of each ledger bucket.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DistributorBinding',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('member_id', fields.BigIntField()),
                ('promoter', fields.ForeignKeyField('distributor.DistributorPromoter', source_field='promoter_id', db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.RESTRICT)),
                ('source', fields.CharField(max_length=16)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('protected_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distributor_binding', 'app': 'distributor', 'unique_together': (('tenant', 'member_id'),), 'indexes': [Index(fields=['tenant_id', 'promoter_id'])], 'pk_attr': 'id', 'table_description': 'The promoter a member is bound to now, since when, by what, and until when'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DistributorCommission',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order_id', fields.BigIntField()),
                ('line_id', fields.BigIntField()),
                ('level', fields.SmallIntField()),
                ('promoter', fields.ForeignKeyField('distributor.DistributorPromoter', source_field='promoter_id', db_constraint=True, to_field='id', related_name='commissions', on_delete=OnDelete.RESTRICT)),
                ('member_id', fields.BigIntField()),
                ('sku_id', fields.BigIntField()),
                ('product_name', fields.CharField(max_length=200)),
                ('quantity', fields.IntField()),
                ('line_amount', fields.BigIntField()),
                ('basis', fields.BigIntField()),
                ('kind', fields.CharField(max_length=8)),
                ('rate', fields.BigIntField()),
                ('amount', fields.BigIntField()),
                ('status', fields.CharField(max_length=16)),
                ('earned_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('unfreeze_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reversed_quantity', fields.IntField(default=0)),
                ('reversed_basis', fields.BigIntField(default=0)),
                ('reversed_amount', fields.BigIntField(default=0)),
            ],
            options={'table': 'distributor_commission', 'app': 'distributor', 'unique_together': (('tenant', 'line_id', 'level'),), 'constraints': [CheckConstraint(check='reversed_amount >= 0 AND reversed_amount <= amount', name='distributor_commission_reversed_range')], 'indexes': [Index(fields=['tenant_id', 'order_id']), Index(fields=['tenant_id', 'promoter_id', 'status'])], 'pk_attr': 'id', 'table_description': 'What one order line earns one promoter at one level.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DistributorEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('promoter', fields.ForeignKeyField('distributor.DistributorPromoter', source_field='promoter_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=16)),
                ('amount', fields.BigIntField()),
                ('source', fields.CharField(null=True, max_length=16)),
                ('target', fields.CharField(null=True, max_length=16)),
                ('reference', fields.CharField(max_length=64)),
                ('commission_id', fields.BigIntField(null=True)),
                ('withdrawal_id', fields.BigIntField(null=True)),
                ('booked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distributor_entry', 'app': 'distributor', 'unique_together': (('tenant', 'reference'),), 'constraints': [CheckConstraint(check='amount > 0', name='distributor_entry_positive')], 'indexes': [Index(fields=['tenant_id', 'promoter_id'])], 'pk_attr': 'id', 'table_description': "One movement of a promoter's money between buckets, never edited or deleted."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='DistributorRule',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('sku_id', fields.BigIntField()),
                ('kind', fields.CharField(max_length=8)),
                ('first_level', fields.BigIntField()),
                ('second_level', fields.BigIntField()),
            ],
            options={'table': 'distributor_rule', 'app': 'distributor', 'unique_together': (('tenant', 'sku_id'),), 'constraints': [CheckConstraint(check='first_level >= 0 AND second_level >= 0', name='distributor_rule_positive')], 'pk_attr': 'id', 'table_description': "A SKU's own commission: a percentage (basis points) or a fixed amount per unit"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='DistributorWithdrawal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('promoter', fields.ForeignKeyField('distributor.DistributorPromoter', source_field='promoter_id', db_constraint=True, to_field='id', related_name='withdrawals', on_delete=OnDelete.RESTRICT)),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('amount', fields.BigIntField()),
                ('fee', fields.BigIntField()),
                ('account', fields.CharField(max_length=200)),
                ('status', fields.CharField(max_length=16)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('payout_reference', fields.CharField(default='', max_length=128)),
            ],
            options={'table': 'distributor_withdrawal', 'app': 'distributor', 'unique_together': (('tenant', 'promoter', 'idempotency_key'),), 'constraints': [CheckConstraint(check='amount > 0 AND fee >= 0 AND fee <= amount', name='distributor_withdrawal_amounts')], 'indexes': [Index(fields=['tenant_id', 'status'])], 'pk_attr': 'id', 'table_description': "A promoter's request to be paid out, reserved from the available balance."},
            bases=['Timestamped'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('distributor_commission', 'distributor_commission_reversed_range', 'reversed_amount >= 0 AND reversed_amount <= amount'),
            ('distributor_entry', 'distributor_entry_positive', 'amount > 0'),
            ('distributor_promoter', 'distributor_withdrawing_not_negative', 'withdrawing >= 0'),
            ('distributor_rule', 'distributor_rule_positive', 'first_level >= 0 AND second_level >= 0'),
            ('distributor_withdrawal', 'distributor_withdrawal_amounts', 'amount > 0 AND fee >= 0 AND fee <= amount'),
        ),
    ]
