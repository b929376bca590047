from tortoise import migrations

from yutang.api import check_constraints
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='PickupHandover',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('order_id', fields.BigIntField()),
                ('store_id', fields.BigIntField()),
                ('action', fields.CharField(max_length=16)),
                ('actor', fields.CharField(max_length=64)),
                ('role', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'pickup_handover', 'app': 'pickup', 'unique_together': (('tenant', 'order_id'),), 'pk_attr': 'id', 'table_description': 'The log of how a pickup order ended: who (actor, role), when, and at which store.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PickupLookupCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('actor', fields.CharField(max_length=64)),
                ('window', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'pickup_lookup_count', 'app': 'pickup', 'unique_together': (('tenant', 'actor', 'window'),), 'pk_attr': 'id', 'table_description': "Code lookups by one staff member (``kind:id``) in one minute: the rate limit's counter."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PickupOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order_id', fields.BigIntField()),
                ('store_id', fields.BigIntField()),
                ('slot_starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('slot_ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('slot_released', fields.BooleanField(default=False)),
                ('status', fields.CharField(default='placed', max_length=16)),
                ('code', fields.CharField(null=True, max_length=32)),
                ('deadline_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pickup_order', 'app': 'pickup', 'unique_together': (('tenant', 'order_id'), ('tenant', 'code')), 'pk_attr': 'id', 'table_description': 'An order to be picked up at a store, with its code once paid.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='PickupSlotUsage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('store_id', fields.BigIntField()),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('taken', fields.IntField(default=0)),
            ],
            options={'table': 'pickup_slot_usage', 'app': 'pickup', 'unique_together': (('tenant', 'store_id', 'starts_at'),), 'constraints': [CheckConstraint(check='taken >= 0', name='pickup_slot_taken_not_negative')], 'pk_attr': 'id', 'table_description': "Orders holding one occurrence of a store's slot, raised only by a conditional UPDATE."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PickupStore',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('store_id', fields.BigIntField()),
                ('enabled', fields.BooleanField(default=True)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('hours', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('closed_days', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('slots', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('all_skus', fields.BooleanField(default=False)),
            ],
            options={'table': 'pickup_store', 'app': 'pickup', 'unique_together': (('tenant', 'store_id'),), 'pk_attr': 'id', 'table_description': "A core store's pickup details: where it is, when it is open, its slots."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PickupStoreSku',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('store_id', fields.BigIntField()),
                ('sku_id', fields.BigIntField()),
            ],
            options={'table': 'pickup_store_sku', 'app': 'pickup', 'unique_together': (('tenant', 'store_id', 'sku_id'),), 'pk_attr': 'id', 'table_description': 'A SKU a store offers for pickup (unless the store offers every SKU).'},
            bases=['TenantModel'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('pickup_slot_usage', 'pickup_slot_taken_not_negative', 'taken >= 0'),
        ),
    ]
