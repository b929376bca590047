from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0013_webhooks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobKey',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('tenant_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'job_key', 'app': 'core', 'pk_attr': 'key', 'table_description': "A dedupe key once scheduled, kept after its job's row is deleted by retention."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobLane',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('queue', fields.CharField(max_length=16)),
                ('tenant_key', fields.BigIntField()),
                ('served', fields.BigIntField(default=0)),
            ],
            options={'table': 'job_lane', 'app': 'core', 'unique_together': (('queue', 'tenant_key'),), 'pk_attr': 'id', 'table_description': "When a tenant's jobs of one queue were last claimed: claims serve the longest"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Job',
            name='queue',
            field=fields.CharField(default='timeouts', db_default='timeouts', max_length=16),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['queue', 'status', 'tenant_id', 'run_at']),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['status', 'done_at']),
        ),
        # events already queued go to their own queue; every key already scheduled is kept
        ops.RunSQL(
            "UPDATE job SET queue = 'events' WHERE name LIKE 'event:%'",
            reverse_sql="SELECT 1",
        ),
        ops.RunSQL(
            "INSERT INTO job_key (key, tenant_id, created_at) "
            "SELECT dedupe_key, tenant_id, created_at FROM job WHERE dedupe_key IS NOT NULL",
            reverse_sql="SELECT 1",
        ),
    ]
