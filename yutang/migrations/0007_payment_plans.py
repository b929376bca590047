from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0006_product_virtual')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Instalment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order', fields.ForeignKeyField('core.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='instalments', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('label', fields.CharField(max_length=64)),
                ('amount', fields.BigIntField()),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'instalment', 'app': 'core', 'unique_together': (('order', 'position'),), 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'One part of an order paid in parts, ``pending`` until ``paid``.'},
            bases=['Timestamped'],
        ),
        ops.AlterModelOptions(
            name='Payment',
            options={'table': 'payment', 'app': 'core', 'unique_together': (('tenant', 'provider', 'reference'),), 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'A payment attempt through a provider, ``captured`` once the provider confirms;'},
        ),
        ops.AddField(
            model_name='Payment',
            name='instalment',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Payment',
            name='refunded_amount',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AlterModelOptions(
            name='Refund',
            options={'table': 'refund', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'An after-sale request: open, then approved or rejected, then refunded. ``parts``'},
        ),
        ops.AddField(
            model_name='Refund',
            name='parts',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        # a capture refunded whole as a stray before this migration is marked as such, so
        # refunds are never split onto it
        ops.RunSQL(
            "UPDATE payment SET claimed_by = 'core' WHERE status = 'captured' "
            "AND claimed_by IS NULL AND EXISTS (SELECT 1 FROM job "
            "WHERE job.dedupe_key = 'refund_payment:' || CAST(payment.id AS TEXT))",
            reverse_sql="SELECT 1",
        ),
    ]
