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
            name='Bargain',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('offer_id', fields.BigIntField()),
                ('sku_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('start_price', fields.BigIntField()),
                ('floor_price', fields.BigIntField()),
                ('price', fields.BigIntField()),
                ('helpers_needed', fields.IntField()),
                ('helpers', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='open', max_length=16)),
                ('order_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'bargain_bargain', 'app': 'bargain', 'constraints': [CheckConstraint(check='price >= floor_price AND price <= start_price AND helpers <= helpers_needed', name='bargain_price_within_range')], 'indexes': [Index(fields=['tenant_id', 'member_id', 'offer_id'])], 'pk_attr': 'id', 'table_description': "One member's bargain on an offer: its price falls with every cut until the floor"},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='BargainCut',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('bargain_id', fields.BigIntField()),
                ('member_id', fields.BigIntField()),
                ('amount', fields.BigIntField()),
            ],
            options={'table': 'bargain_cut', 'app': 'bargain', 'unique_together': (('tenant', 'bargain_id', 'member_id'),), 'pk_attr': 'id', 'table_description': 'The amount one friend cut from a bargain (one cut per friend and bargain)'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='BargainOffer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sku_id', fields.BigIntField()),
                ('floor_price', fields.BigIntField()),
                ('helpers', fields.IntField()),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'bargain_offer', 'app': 'bargain', 'unique_together': (('tenant', 'sku_id'),), 'pk_attr': 'id', 'table_description': 'A SKU members may bargain for: down to floor_price after helpers friends cut it'},
            bases=['Timestamped'],
        ),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            (
                'bargain_bargain',
                'bargain_price_within_range',
                'price >= floor_price AND price <= start_price AND helpers <= helpers_needed',
            ),
        ),
    ]
