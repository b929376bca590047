from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0011_member_profile')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OrderLine',
            name='image_url',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        # lines placed before the snapshot was kept show their product's first image now
        ops.RunSQL(
            "UPDATE order_line SET image_url = COALESCE((SELECT product_image.url "
            "FROM product_image WHERE product_image.tenant_id = order_line.tenant_id "
            "AND product_image.product_id = order_line.product_id "
            "ORDER BY product_image.position, product_image.id LIMIT 1), '')",
            reverse_sql="SELECT 1",
        ),
    ]
