from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_persisted_operations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='VerificationCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('phone', fields.CharField(max_length=32)),
                ('purpose', fields.CharField(max_length=32)),
                ('code_hash', fields.CharField(max_length=200)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts_left', fields.IntField()),
            ],
            options={'table': 'verification_code', 'app': 'core', 'unique_together': (('tenant', 'phone', 'purpose'),), 'indexes': [Index(fields=['tenant_id', 'expires_at'])], 'pk_attr': 'id', 'table_description': 'The live one-time code sent to a phone for one purpose, replaced by the next one.'},
            bases=['Timestamped'],
        ),
        ops.AddIndex(
            model_name='AuthToken',
            index=Index(fields=['tenant_id', 'kind', 'subject_id']),
        ),
        ops.AddIndex(
            model_name='AuthToken',
            index=Index(fields=['tenant_id', 'expires_at']),
        ),
    ]
