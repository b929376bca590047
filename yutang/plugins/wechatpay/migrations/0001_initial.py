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
            name='WeChatPayTransfer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('reference', fields.CharField(max_length=128)),
                ('member_id', fields.BigIntField()),
                ('amount', fields.BigIntField()),
                ('status', fields.CharField(default='awaiting', max_length=16)),
                ('attempt', fields.IntField(default=0)),
                ('out_bill_no', fields.CharField(default='', max_length=32)),
                ('openid', fields.CharField(default='', max_length=64)),
                ('transfer_bill_no', fields.CharField(default='', max_length=64)),
                ('fail_reason', fields.CharField(default='', max_length=64)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'wechatpay_transfer', 'app': 'wechatpay', 'unique_together': (('tenant', 'reference'),), 'constraints': [CheckConstraint(check="amount > 0 AND status IN ('awaiting', 'open', 'paid')", name='wechatpay_transfer_valid')], 'indexes': [Index(fields=['tenant_id', 'member_id']), Index(fields=['tenant_id', 'out_bill_no'])], 'pk_attr': 'id', 'table_description': "A payout (another plugin's ``reference``) transferred to a member's WeChat balance."},
            bases=['Timestamped'],
        ),
        check_constraints(
            (
                "wechatpay_transfer",
                "wechatpay_transfer_valid",
                "amount > 0 AND status IN ('awaiting', 'open', 'paid')",
            )
        ),
    ]
