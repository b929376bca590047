from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0009_refund_requests')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TenantDomain',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('host', fields.CharField(unique=True, max_length=253)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'tenant_domain', 'app': 'core', 'pk_attr': 'id', 'table_description': "A host name a tenant's storefront is served on: a request to it is the tenant's."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Tenant',
            name='cors_origins',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
