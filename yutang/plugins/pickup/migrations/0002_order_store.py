from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Pickup orders placed before the core knew an order's store belong to theirs, so
    their store's clerks still reach them."""

    dependencies = [("core", "0008_staff_roles"), ("pickup", "0001_initial")]

    initial = False

    operations = [
        ops.RunSQL(
            "UPDATE orders SET store_id = (SELECT p.store_id FROM pickup_order p "
            "WHERE p.order_id = orders.id AND p.tenant_id = orders.tenant_id) "
            "WHERE store_id IS NULL AND EXISTS (SELECT 1 FROM pickup_order p "
            "WHERE p.order_id = orders.id AND p.tenant_id = orders.tenant_id)",
            reverse_sql="SELECT 1",
        ),
    ]
