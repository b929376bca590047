from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0005_accounts')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Product',
            name='virtual',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
