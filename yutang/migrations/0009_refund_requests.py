from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0008_staff_roles')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Refund',
            name='decided_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Refund',
            name='requested_by',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
        ops.AddIndex(
            model_name='Refund',
            index=Index(fields=['tenant_id', 'status', 'id']),
        ),
        # only a member's request waits open, so an open one was asked by its order's member
        ops.RunSQL(
            "UPDATE refund SET requested_by = 'member:' || CAST((SELECT orders.member_id "
            "FROM orders WHERE orders.id = refund.order_id) AS TEXT) WHERE status = 'open'",
            reverse_sql="SELECT 1",
        ),
    ]
