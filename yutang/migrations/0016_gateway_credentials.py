from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0015_retention_keys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GatewayCredentials',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('provider', fields.CharField(max_length=32)),
                ('sealed', fields.TextField(unique=False)),
                ('hint', fields.CharField(default='', max_length=200)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'gateway_credentials', 'app': 'core', 'unique_together': (('tenant', 'provider'),), 'pk_attr': 'id', 'table_description': "One provider's credentials for one tenant, sealed under the deployment's keys"},
            bases=['Timestamped'],
        ),
    ]
