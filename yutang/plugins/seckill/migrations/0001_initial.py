from tortoise import migrations

from yutang.api import check_constraints
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='SeckillActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('member_limit', fields.IntField()),
                ('payment_minutes', fields.IntField()),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'seckill_activity', 'app': 'seckill', 'indexes': [Index(fields=['tenant_id', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'A seckill campaign: a time window, sessions, a member limit and a payment timeout.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='SeckillQuota',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('seckill.SeckillActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='quotas', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('taken', fields.IntField()),
            ],
            options={'table': 'seckill_quota', 'app': 'seckill', 'unique_together': (('activity', 'member_id'),), 'constraints': [CheckConstraint(check='taken >= 0', name='seckill_quota_not_negative')], 'pk_attr': 'id', 'table_description': "Units a member holds in an activity, unpaid orders included: the limit's counter."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SeckillSession',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('activity', fields.ForeignKeyField('seckill.SeckillActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('daily_start', fields.IntField(null=True)),
                ('daily_end', fields.IntField(null=True)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'seckill_session', 'app': 'seckill', 'indexes': [Index(fields=['tenant_id', 'activity_id'])], 'pk_attr': 'id', 'table_description': 'A slot of an activity (场次): daily times of day, or one-off datetimes.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='SeckillItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('activity', fields.ForeignKeyField('seckill.SeckillActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('seckill.SeckillSession', source_field='session_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('sku_id', fields.BigIntField()),
                ('product_id', fields.BigIntField()),
                ('price', fields.BigIntField()),
                ('stock', fields.IntField()),
            ],
            options={'table': 'seckill_item', 'app': 'seckill', 'constraints': [CheckConstraint(check='price >= 0', name='seckill_item_price_not_negative'), CheckConstraint(check='stock >= 0', name='seckill_item_stock_not_negative')], 'indexes': [Index(fields=['tenant_id', 'sku_id']), Index(fields=['tenant_id', 'product_id'])], 'pk_attr': 'id', 'table_description': 'A SKU sold in a session: its activity price and units for each occurrence.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='SeckillReservation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('activity', fields.ForeignKeyField('seckill.SeckillActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='reservations', on_delete=OnDelete.CASCADE)),
                ('item', fields.ForeignKeyField('seckill.SeckillItem', source_field='item_id', db_constraint=True, to_field='id', related_name='reservations', on_delete=OnDelete.CASCADE)),
                ('slot_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('quantity', fields.IntField()),
                ('released', fields.IntField(default=0)),
                ('paid', fields.BooleanField(default=False)),
            ],
            options={'table': 'seckill_reservation', 'app': 'seckill', 'unique_together': (('tenant', 'order_id', 'item'),), 'constraints': [CheckConstraint(check='released >= 0 AND released <= quantity', name='seckill_reservation_released_range')], 'indexes': [Index(fields=['tenant_id', 'item_id'])], 'pk_attr': 'id', 'table_description': 'What one order took of one item, so cancel, timeout and refund give back exactly that.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='SeckillSkuGuard',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('sku_id', fields.BigIntField()),
            ],
            options={'table': 'seckill_sku_guard', 'app': 'seckill', 'unique_together': (('tenant', 'sku_id'),), 'pk_attr': 'id', 'table_description': 'A lock row per SKU ever put in an activity, taken while an activity is created.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SeckillStock',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('item', fields.ForeignKeyField('seckill.SeckillItem', source_field='item_id', db_constraint=True, to_field='id', related_name='stocks', on_delete=OnDelete.CASCADE)),
                ('slot_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('remaining', fields.IntField()),
            ],
            options={'table': 'seckill_stock', 'app': 'seckill', 'unique_together': (('item', 'slot_start'),), 'constraints': [CheckConstraint(check='remaining >= 0', name='seckill_stock_not_negative')], 'pk_attr': 'id', 'table_description': 'Activity units left of one item in one occurrence of its session.'},
            bases=['TenantModel'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('seckill_item', 'seckill_item_price_not_negative', 'price >= 0'),
            ('seckill_item', 'seckill_item_stock_not_negative', 'stock >= 0'),
            ('seckill_quota', 'seckill_quota_not_negative', 'taken >= 0'),
            ('seckill_reservation', 'seckill_reservation_released_range', 'released >= 0 AND released <= quantity'),
            ('seckill_stock', 'seckill_stock_not_negative', 'remaining >= 0'),
        ),
    ]
