from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0003_product_tags')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersistedOperation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sha256', fields.CharField(max_length=64)),
                ('name', fields.CharField(default='', max_length=200)),
                ('query', fields.TextField(unique=False)),
            ],
            options={'table': 'persisted_operation', 'app': 'core', 'unique_together': (('tenant_id', 'sha256'),), 'pk_attr': 'id', 'table_description': 'A storefront operation registered by its sha256, so production accepts it from'},
            bases=['Timestamped'],
        ),
    ]
