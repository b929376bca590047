from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Address',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='addresses', on_delete=OnDelete.CASCADE)),
                ('receiver', fields.CharField(max_length=64)),
                ('phone', fields.CharField(max_length=32)),
                ('province', fields.CharField(max_length=6)),
                ('city', fields.CharField(max_length=6)),
                ('district', fields.CharField(default='', max_length=6)),
                ('detail', fields.CharField(max_length=200)),
                ('is_default', fields.BooleanField(default=False)),
            ],
            options={'table': 'address', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'member_id'])], 'pk_attr': 'id', 'table_description': "An entry of a member's address book, with 6-digit region codes."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Cart',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='carts', on_delete=OnDelete.CASCADE)),
                ('token_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'cart', 'app': 'core', 'unique_together': (('tenant', 'member'),), 'pk_attr': 'id', 'table_description': "A server-side cart: a member's (one each), or a guest's found by its token digest."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='CartLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('cart', fields.ForeignKeyField('core.Cart', source_field='cart_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('sku_id', fields.BigIntField()),
                ('quantity', fields.IntField()),
                ('selected', fields.BooleanField(default=True)),
                ('activity_plugin', fields.CharField(default='', max_length=64)),
                ('activity_ref', fields.CharField(default='', max_length=128)),
                ('extensions', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'cart_line', 'app': 'core', 'unique_together': (('tenant', 'cart', 'sku_id', 'activity_plugin', 'activity_ref'),), 'pk_attr': 'id', 'table_description': 'A SKU in a cart with its activity reference and per-plugin checkout input.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Shipment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order', fields.ForeignKeyField('core.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.CASCADE)),
                ('carrier', fields.CharField(max_length=64)),
                ('tracking_number', fields.CharField(max_length=64)),
                ('lines', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'shipment', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'Order lines handed to a carrier: ``lines`` holds ``line_id`` and ``quantity`` each.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='ShippingTemplate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('charge_by', fields.CharField(default='unit', max_length=8)),
                ('first_quantity', fields.IntField(default=1)),
                ('first_fee', fields.BigIntField(default=0)),
                ('additional_quantity', fields.IntField(default=1)),
                ('additional_fee', fields.BigIntField(default=0)),
                ('free_over', fields.BigIntField(null=True)),
                ('rules', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('excluded', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('is_default', fields.BooleanField(default=False)),
            ],
            options={'table': 'shipping_template', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'is_default'])], 'pk_attr': 'id', 'table_description': 'A shipping fee template (运费模板), charged by units or by weight.'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Order',
            name='address',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Sku',
            name='shipping_template',
            field=fields.ForeignKeyField('core.ShippingTemplate', source_field='shipping_template_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
