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
            name='GroupbuyActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('team_size', fields.IntField()),
                ('validity_minutes', fields.IntField()),
                ('member_limit', fields.IntField()),
                ('payment_minutes', fields.IntField()),
                ('virtual_completion', fields.BooleanField(default=False)),
                ('stopped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'groupbuy_activity', 'app': 'groupbuy', 'constraints': [CheckConstraint(check='team_size >= 2', name='groupbuy_activity_team_size_min')], 'indexes': [Index(fields=['tenant_id', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'A group-buy campaign: window, team size, team validity, member limit, seat hold.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='GroupbuyItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('activity', fields.ForeignKeyField('groupbuy.GroupbuyActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('sku_id', fields.BigIntField()),
                ('product_id', fields.BigIntField()),
                ('price', fields.BigIntField()),
                ('leader_price', fields.BigIntField(null=True)),
            ],
            options={'table': 'groupbuy_item', 'app': 'groupbuy', 'constraints': [CheckConstraint(check='price >= 0', name='groupbuy_item_price_not_negative')], 'indexes': [Index(fields=['tenant_id', 'sku_id']), Index(fields=['tenant_id', 'product_id'])], 'pk_attr': 'id', 'table_description': 'A SKU sold in an activity at the group price, and optionally a leader price.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='GroupbuyQuota',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('groupbuy.GroupbuyActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='quotas', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('taken', fields.IntField(default=0)),
            ],
            options={'table': 'groupbuy_quota', 'app': 'groupbuy', 'unique_together': (('activity', 'member_id'),), 'constraints': [CheckConstraint(check='taken >= 0', name='groupbuy_quota_not_negative')], 'pk_attr': 'id', 'table_description': "Units a member holds in an activity, unpaid orders included: the limit's counter."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='GroupbuyTeam',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('activity', fields.ForeignKeyField('groupbuy.GroupbuyActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='teams', on_delete=OnDelete.CASCADE)),
                ('leader_id', fields.BigIntField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('size', fields.IntField()),
                ('seats', fields.IntField(default=1)),
                ('paid', fields.IntField(default=0)),
                ('virtual', fields.IntField(default=0)),
                ('opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'groupbuy_team', 'app': 'groupbuy', 'constraints': [CheckConstraint(check='seats >= 0 AND seats <= size', name='groupbuy_team_seats_range'), CheckConstraint(check='paid >= 0 AND paid <= size', name='groupbuy_team_paid_range')], 'indexes': [Index(fields=['tenant_id', 'activity_id', 'status']), Index(fields=['tenant_id', 'status', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'A team (团): pending until its leader paid, then open until full or expired.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='GroupbuySeat',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('team', fields.ForeignKeyField('groupbuy.GroupbuyTeam', source_field='team_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('groupbuy.GroupbuyActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='seats', on_delete=OnDelete.CASCADE)),
                ('item_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('order_id', fields.BigIntField()),
                ('quantity', fields.IntField()),
                ('released', fields.IntField(default=0)),
                ('leader', fields.BooleanField(default=False)),
                ('status', fields.CharField(default='held', max_length=16)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('moved_from_id', fields.BigIntField(null=True)),
                ('late_payment_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'groupbuy_seat', 'app': 'groupbuy', 'unique_together': (('tenant', 'order_id'),), 'constraints': [CheckConstraint(check='released >= 0 AND released <= quantity', name='groupbuy_seat_released_range')], 'indexes': [Index(fields=['tenant_id', 'team_id']), Index(fields=['tenant_id', 'member_id', 'id'])], 'pk_attr': 'id', 'table_description': "One member's place in a team, bought by one order."},
            bases=['Timestamped'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('groupbuy_activity', 'groupbuy_activity_team_size_min', 'team_size >= 2'),
            ('groupbuy_item', 'groupbuy_item_price_not_negative', 'price >= 0'),
            ('groupbuy_quota', 'groupbuy_quota_not_negative', 'taken >= 0'),
            ('groupbuy_seat', 'groupbuy_seat_released_range', 'released >= 0 AND released <= quantity'),
            ('groupbuy_team', 'groupbuy_team_seats_range', 'seats >= 0 AND seats <= size'),
            ('groupbuy_team', 'groupbuy_team_paid_range', 'paid >= 0 AND paid <= size'),
        ),
    ]
