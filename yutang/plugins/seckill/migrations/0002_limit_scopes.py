"""Member limits get scopes: ``member_limit`` becomes the ACTIVITY entry of ``limits``, and
the quota counters, one per (activity, member) until now, one per (activity, member, scope).

The counters move to a new table: SQLite cannot drop the old table's inline UNIQUE without
rebuilding it, and tortoise's rebuild keeps neither unique constraints nor indexes. Held
units move as ACTIVITY counters, so unpaid orders still count and still give them back.
Dropping ``member_limit`` rebuilds ``seckill_activity`` on SQLite, so its index is made again.
"""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import check_constraints


async def limits_from_member_limit(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    build = "json_object" if client.capabilities.dialect == "sqlite" else "jsonb_build_object"
    await client.execute_script(
        f'UPDATE "seckill_activity" SET "limits" = {build}(\'activity\', "member_limit")'
    )


async def activity_quotas(apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(
        'INSERT INTO "seckill_member_quota" ("tenant_id", "activity_id", "member_id", "scope", '
        '"taken") SELECT "tenant_id", "activity_id", "member_id", \'activity\', "taken" '
        'FROM "seckill_quota"'
    )


class Migration(migrations.Migration):
    dependencies = [('core', '0004_persisted_operations'), ('seckill', '0001_initial')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='SeckillActivity',
            options={'table': 'seckill_activity', 'app': 'seckill', 'indexes': [Index(fields=['tenant_id', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'A seckill campaign: a time window, sessions, member limits and a payment timeout.'},
        ),
        ops.AddField(
            model_name='SeckillActivity',
            name='limits',
            field=fields.JSONField(default=dict, db_default='{}', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.RunPython(limits_from_member_limit),
        ops.RemoveField(model_name='SeckillActivity', name='member_limit'),
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "idx_seckill_act_tenant__096fb0" '
            'ON "seckill_activity" ("tenant_id", "ends_at")'
        ),
        ops.CreateModel(
            name='SeckillMemberQuota',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('seckill.SeckillActivity', source_field='activity_id', db_constraint=True, to_field='id', related_name='member_quotas', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.BigIntField()),
                ('scope', fields.CharField(max_length=64)),
                ('taken', fields.IntField()),
            ],
            options={'table': 'seckill_member_quota', 'app': 'seckill', 'unique_together': (('activity', 'member_id', 'scope'),), 'constraints': [CheckConstraint(check='taken >= 0', name='seckill_member_quota_not_negative')], 'pk_attr': 'id', 'table_description': "Units a member holds within one limit's scope, unpaid orders included: that limit's"},
            bases=['TenantModel'],
        ),
        ops.RunPython(activity_quotas),
        ops.DeleteModel(name='SeckillQuota'),
        # tortoise records CHECK constraints in the state but does not create them.
        check_constraints(
            ('seckill_member_quota', 'seckill_member_quota_not_negative', 'taken >= 0'),
        ),
    ]
