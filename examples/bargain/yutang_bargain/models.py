"""Tables of the bargain plugin: merchants' offers, members' bargains, friends' cuts."""

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from yutang import api

PRICE_CHECK = "price >= floor_price AND price <= start_price AND helpers <= helpers_needed"


class BargainOffer(api.Timestamped):
    """A SKU members may bargain for: down to floor_price after helpers friends cut it"""

    sku_id = fields.BigIntField()
    floor_price = fields.BigIntField()
    helpers = fields.IntField()
    active = fields.BooleanField(default=True)

    class Meta:
        table = "bargain_offer"
        unique_together = (("tenant", "sku_id"),)


class Bargain(api.Timestamped):
    """One member's bargain on an offer: its price falls with every cut until the floor"""

    offer_id = fields.BigIntField()
    sku_id = fields.BigIntField()
    member_id = fields.BigIntField()
    start_price = fields.BigIntField()
    floor_price = fields.BigIntField()
    price = fields.BigIntField()
    helpers_needed = fields.IntField()
    helpers = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="open")
    order_id = fields.BigIntField(null=True)

    class Meta:
        table = "bargain_bargain"
        indexes = (("tenant_id", "member_id", "offer_id"),)
        constraints = (CheckConstraint(check=PRICE_CHECK, name="bargain_price_within_range"),)


class BargainCut(api.Timestamped):
    """The amount one friend cut from a bargain (one cut per friend and bargain)"""

    bargain_id = fields.BigIntField()
    member_id = fields.BigIntField()
    amount = fields.BigIntField()

    class Meta:
        table = "bargain_cut"
        unique_together = (("tenant", "bargain_id", "member_id"),)
