from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

# tortoise's CreateModel records CHECK constraints in the migration state but does not
# create them, and AddConstraint on SQLite rebuilds the table without its unique
# constraints and indexes. So the checks are created here, per dialect: constraints on
# PostgreSQL, triggers that abort the statement on SQLite.
CHECKS = [
    ("member", "member_points_not_negative", "points >= 0"),
    ("member_level", "member_level_discount_range", "discount_percent > 0 AND discount_percent <= 100"),
    ("sku", "sku_stock_not_negative", "stock >= 0"),
    ("sku", "sku_price_not_negative", "price >= 0"),
]


def _on_new_row(check):
    for column in ("discount_percent", "points", "stock", "price"):
        check = check.replace(column, f"NEW.{column}")
    return check


async def create_checks(apps, schema_editor):
    client = schema_editor.client
    for table, name, check in CHECKS:
        if client.capabilities.dialect == "sqlite":
            for event in ("INSERT", "UPDATE"):
                await client.execute_script(
                    f'CREATE TRIGGER "{name}_{event.lower()}" BEFORE {event} ON "{table}" '
                    f"WHEN NOT ({_on_new_row(check)}) "
                    f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
                )
        else:
            await client.execute_script(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({check})'
            )


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuthToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('kind', fields.CharField(max_length=16)),
                ('subject_id', fields.BigIntField()),
                ('tenant_id', fields.BigIntField(null=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'auth_token', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A bearer token, stored as its sha256, for a member, staff member or operator.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.BigIntField(null=True)),
                ('name', fields.CharField(max_length=128)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('plugins', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('run_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('max_attempts', fields.IntField(default=10)),
                ('locked_by', fields.CharField(null=True, max_length=64)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job', 'app': 'core', 'indexes': [Index(fields=['status', 'run_at'])], 'pk_attr': 'id', 'table_description': 'A unit of deferred work. Its effect commits in the same transaction as ``done``.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operator',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('password_hash', fields.CharField(max_length=200)),
            ],
            options={'table': 'operator', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A platform operator (the SaaS vendor), above every tenant.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('time_zone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('profile', fields.CharField(default='default', max_length=64)),
                ('status', fields.CharField(default='active', db_default='active', max_length=16)),
                ('plugins', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('settings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('settings_version', fields.IntField(default=1, db_default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tenant', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A merchant. Plugin set and settings come from its profile plus overrides.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Category',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=100)),
                ('parent', fields.ForeignKeyField('core.Category', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.SET_NULL)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'category', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'position'])], 'pk_attr': 'id', 'table_description': 'A product category, nested one level through ``parent``.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(max_length=64)),
                ('operation', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=128)),
                ('request_hash', fields.CharField(max_length=64)),
                ('result', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'idempotency_record', 'app': 'core', 'unique_together': (('tenant', 'actor', 'operation', 'key'),), 'pk_attr': 'id', 'table_description': 'The first result of a keyed mutation, replayed to every retry with the same key.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('phone', fields.CharField(max_length=32)),
                ('password_hash', fields.CharField(max_length=200)),
                ('nickname', fields.CharField(default='', max_length=100)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('referrer', fields.ForeignKeyField('core.Member', source_field='referrer_id', null=True, db_constraint=True, to_field='id', related_name='referred', on_delete=OnDelete.SET_NULL)),
                ('points', fields.BigIntField(default=0)),
                ('paid_spend', fields.BigIntField(default=0)),
            ],
            options={'table': 'member', 'app': 'core', 'unique_together': (('tenant', 'phone'),), 'constraints': [CheckConstraint(check='points >= 0', name='member_points_not_negative')], 'pk_attr': 'id', 'table_description': 'A customer of one tenant. ``points`` is the balance of the ledger, kept in step.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='MemberLevel',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=64)),
                ('min_spend', fields.BigIntField()),
                ('discount_percent', fields.IntField()),
            ],
            options={'table': 'member_level', 'app': 'core', 'unique_together': (('tenant', 'min_spend'),), 'constraints': [CheckConstraint(check='discount_percent > 0 AND discount_percent <= 100', name='member_level_discount_range')], 'pk_attr': 'id', 'table_description': 'A level reached by cumulative paid spend, with its member discount.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('number', fields.CharField(max_length=32)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharField(default='pending_payment', max_length=24)),
                ('currency', fields.CharField(max_length=3)),
                ('subtotal', fields.BigIntField()),
                ('discount', fields.BigIntField()),
                ('fees', fields.BigIntField(default=0)),
                ('total', fields.BigIntField()),
                ('points_used', fields.BigIntField(default=0)),
                ('paid_amount', fields.BigIntField(default=0)),
                ('refunded_amount', fields.BigIntField(default=0)),
                ('quote', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('quote_hash', fields.CharField(max_length=64)),
                ('plugins', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('extensions', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fulfilment', fields.CharField(default='delivery', max_length=32)),
                ('payment_deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('fulfilled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('after_sale_closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'orders', 'app': 'core', 'unique_together': (('tenant', 'number'),), 'indexes': [Index(fields=['tenant_id', 'member_id', 'id']), Index(fields=['tenant_id', 'status', 'id'])], 'pk_attr': 'id', 'table_description': 'One checkout. ``quote`` is exactly the quote the member saw and was charged.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='OrderLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order', fields.ForeignKeyField('core.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('sku_id', fields.BigIntField()),
                ('product_id', fields.BigIntField()),
                ('product_name', fields.CharField(max_length=200)),
                ('specs', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('quantity', fields.IntField()),
                ('unit_price', fields.BigIntField()),
                ('amount', fields.BigIntField()),
                ('points', fields.BigIntField(default=0)),
                ('refunded_points', fields.BigIntField(default=0)),
                ('activity_plugin', fields.CharField(null=True, max_length=64)),
                ('activity_ref', fields.CharField(null=True, max_length=128)),
                ('refunded_quantity', fields.IntField(default=0)),
                ('refunded_amount', fields.BigIntField(default=0)),
                ('shipped_quantity', fields.IntField(default=0)),
            ],
            options={'table': 'order_line', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'A line as priced: ``amount`` is what it paid after every discount.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order', fields.ForeignKeyField('core.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('provider', fields.CharField(max_length=32)),
                ('amount', fields.BigIntField()),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('reference', fields.CharField(max_length=128)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('captured_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment', 'app': 'core', 'unique_together': (('tenant', 'provider', 'reference'),), 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'A payment attempt through a provider, ``captured`` once the provider confirms.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='PointsEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('member', fields.ForeignKeyField('core.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='points_entries', on_delete=OnDelete.RESTRICT)),
                ('delta', fields.BigIntField()),
                ('balance_after', fields.BigIntField()),
                ('reason', fields.CharField(max_length=64)),
                ('reference', fields.CharField(default='', max_length=128)),
            ],
            options={'table': 'points_entry', 'app': 'core', 'unique_together': (('tenant', 'member', 'reason', 'reference'),), 'indexes': [Index(fields=['tenant_id', 'member_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One append-only movement of the points of a member, never edited or deleted.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Product',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('category', fields.ForeignKeyField('core.Category', source_field='category_id', null=True, db_constraint=True, to_field='id', related_name='products', on_delete=OnDelete.SET_NULL)),
                ('published', fields.BooleanField(default=False)),
                ('spec_names', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'product', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'published', 'id']), Index(fields=['tenant_id', 'category_id'])], 'pk_attr': 'id', 'table_description': 'A product. SKUs carry the price and stock, spec names order the SKU options.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='ProductImage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('product', fields.ForeignKeyField('core.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='images', on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=500)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'product_image', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'product_id'])], 'pk_attr': 'id', 'table_description': 'An image of a product, in display order.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('order', fields.ForeignKeyField('core.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharField(default='open', max_length=16)),
                ('amount', fields.BigIntField()),
                ('lines', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('refunded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refund', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'An after-sale request: open, then approved or rejected, then refunded.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Sku',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('product', fields.ForeignKeyField('core.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='skus', on_delete=OnDelete.CASCADE)),
                ('specs', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('code', fields.CharField(default='', max_length=64)),
                ('price', fields.BigIntField()),
                ('stock', fields.IntField(default=0)),
                ('weight_grams', fields.IntField(default=0)),
            ],
            options={'table': 'sku', 'app': 'core', 'constraints': [CheckConstraint(check='stock >= 0', name='sku_stock_not_negative'), CheckConstraint(check='price >= 0', name='sku_price_not_negative')], 'indexes': [Index(fields=['tenant_id', 'product_id'])], 'pk_attr': 'id', 'table_description': 'A sellable variant defined by spec options (颜色: 红, 尺码: M).'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Staff',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('username', fields.CharField(max_length=64)),
                ('name', fields.CharField(default='', max_length=100)),
                ('role', fields.CharField(max_length=16)),
                ('password_hash', fields.CharField(max_length=200)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'staff', 'app': 'core', 'unique_together': (('tenant', 'username'),), 'pk_attr': 'id', 'table_description': 'A staff member of a tenant, with one role: owner, manager or clerk.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='Store',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('name', fields.CharField(max_length=200)),
                ('address', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'store', 'app': 'core', 'indexes': [Index(fields=['tenant_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A physical store that plugins (pickup, distributor) build on.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='StoreStaff',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('core.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='staff_links', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('core.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name='store_links', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'store_staff', 'app': 'core', 'unique_together': (('tenant', 'store', 'staff'),), 'pk_attr': 'id', 'table_description': 'Which staff belong to which store (a clerk acts only for their stores).'},
            bases=['TenantModel'],
        ),
        ops.RunPython(create_checks),
    ]
