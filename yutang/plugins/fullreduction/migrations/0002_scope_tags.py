from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0004_persisted_operations'), ('fullreduction', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='FullreductionRule',
            name='scope_tags',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
