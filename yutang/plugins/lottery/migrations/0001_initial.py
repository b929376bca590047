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
            name='LotteryActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('rules', fields.TextField(default='', unique=False)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('points_per_draw', fields.IntField(default=0)),
                ('free_draws_per_day', fields.IntField(default=0)),
                ('draws_per_order', fields.IntField(default=0)),
                ('min_order_amount', fields.BigIntField(default=0)),
                ('member_tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('member_levels', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('new_member_days', fields.IntField(null=True)),
                ('daily_cap', fields.IntField(null=True)),
                ('total_cap', fields.IntField(null=True)),
            ],
            options={'table': 'lottery_activity', 'app': 'lottery', 'constraints': [CheckConstraint(check='points_per_draw >= 0 AND free_draws_per_day >= 0 AND draws_per_order >= 0', name='lottery_activity_costs_not_negative')], 'indexes': [Index(fields=['tenant_id', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'A lucky draw: its time window, how a draw is paid for, who may draw and the caps.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='LotteryCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('lottery.LotteryActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='counters', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('day', fields.DateField(null=True)),
                ('today', fields.IntField(default=0)),
                ('free_today', fields.IntField(default=0)),
                ('total', fields.IntField(default=0)),
                ('earned', fields.IntField(default=0)),
                ('earned_used', fields.IntField(default=0)),
            ],
            options={'table': 'lottery_counter', 'app': 'lottery', 'unique_together': (('activity', 'member_id'),), 'constraints': [CheckConstraint(check='earned_used >= 0 AND earned_used <= earned', name='lottery_counter_earned_range')], 'pk_attr': 'id', 'table_description': "A member's draws in one activity, locked by every draw: caps are checked under it."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='LotteryOrderCredit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('lottery.LotteryActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='order_credits', on_delete=OnDelete.CASCADE)),
                ('order_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('draws', fields.IntField()),
            ],
            options={'table': 'lottery_order_credit', 'app': 'lottery', 'unique_together': (('activity', 'order_id'),), 'pk_attr': 'id', 'table_description': "Draws a paid order earned in an activity, once per order: the event's idempotency."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='LotteryPrize',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('lottery.LotteryActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='prizes', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharField(max_length=16)),
                ('amount', fields.BigIntField(default=0)),
                ('item', fields.CharField(default='', max_length=128)),
                ('weight', fields.IntField()),
                ('stock', fields.IntField(null=True)),
                ('remaining', fields.IntField(null=True)),
                ('win_cap', fields.IntField(null=True)),
                ('claim_days', fields.IntField(null=True)),
            ],
            options={'table': 'lottery_prize', 'app': 'lottery', 'constraints': [CheckConstraint(check='weight >= 0', name='lottery_prize_weight_not_negative'), CheckConstraint(check='remaining >= 0', name='lottery_prize_remaining_not_negative')], 'indexes': [Index(fields=['tenant_id', 'activity_id'])], 'pk_attr': 'id', 'table_description': 'A prize of an activity with its weight, stock and per-member win cap.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='LotteryDraw',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('activity', fields.ForeignKeyField('lottery.LotteryActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='draws', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('seq', fields.IntField()),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('paid_with', fields.CharField(max_length=16)),
                ('points_charged', fields.IntField(default=0)),
                ('weights', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('total_weight', fields.IntField()),
                ('random_value', fields.IntField()),
                ('chosen_prize', fields.ForeignKeyField('lottery.LotteryPrize', source_field='chosen_prize_id', db_constraint=True, to_field='id', related_name='chosen_in', on_delete=OnDelete.CASCADE)),
                ('prize', fields.ForeignKeyField('lottery.LotteryPrize', source_field='prize_id', null=True, db_constraint=True, to_field='id', related_name='won_in', on_delete=OnDelete.CASCADE)),
                ('fallthrough', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'lottery_draw', 'app': 'lottery', 'unique_together': (('tenant', 'member_id', 'idempotency_key'), ('activity', 'member_id', 'seq')), 'indexes': [Index(fields=['tenant_id', 'activity_id', 'id']), Index(fields=['tenant_id', 'member_id', 'id']), Index(fields=['tenant_id', 'prize_id'])], 'pk_attr': 'id', 'table_description': 'One draw, never edited: what paid for it and the audit of the choice.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='LotteryClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('draw', fields.OneToOneField('lottery.LotteryDraw', source_field='draw_id', db_constraint=True, to_field='id', related_name='claim', on_delete=OnDelete.CASCADE)),
                ('activity_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('method', fields.CharField(default='', max_length=16)),
                ('name', fields.CharField(default='', max_length=100)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('address', fields.CharField(default='', max_length=500)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('carrier', fields.CharField(default='', max_length=100)),
                ('tracking_number', fields.CharField(default='', max_length=100)),
                ('shipped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lottery_claim', 'app': 'lottery', 'indexes': [Index(fields=['tenant_id', 'activity_id', 'status'])], 'pk_attr': 'id', 'table_description': 'How a goods prize reaches its winner, from the claim to the shipping.'},
            bases=['TenantModel'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('lottery_activity', 'lottery_activity_costs_not_negative', 'points_per_draw >= 0 AND free_draws_per_day >= 0 AND draws_per_order >= 0'),
            ('lottery_counter', 'lottery_counter_earned_range', 'earned_used >= 0 AND earned_used <= earned'),
            ('lottery_prize', 'lottery_prize_weight_not_negative', 'weight >= 0'),
            ('lottery_prize', 'lottery_prize_remaining_not_negative', 'remaining >= 0'),
        ),
    ]
