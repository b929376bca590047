"""Commission freezes in hours: stored overrides ``freeze_days: N`` become
``freeze_hours: 24 × N``.

Tenant rows are read and written through the historical model, so the same code runs on
SQLite and PostgreSQL; each rewritten tenant's settings version is bumped, so running
processes reload it.
"""

from collections.abc import Callable
from typing import Any

from tortoise import migrations
from tortoise.expressions import F
from tortoise.migrations import operations as ops


async def _rename(apps: Any, old: str, new: str, convert: Callable[[int], int]) -> None:
    tenant = apps.get_model("core", "Tenant")
    for row in await tenant.all().only("id", "settings"):
        values = (row.settings or {}).get("distributor", {})
        if old not in values:
            continue
        kept = {k: v for k, v in values.items() if k != old}
        await tenant.filter(id=row.id).update(
            settings={**row.settings, "distributor": {**kept, new: convert(values[old])}},
            settings_version=F("settings_version") + 1,
        )


async def freeze_days_to_hours(apps: Any, schema_editor: Any) -> None:
    """``freeze_days: N`` → ``freeze_hours: 24 × N``."""
    await _rename(apps, "freeze_days", "freeze_hours", lambda days: days * 24)


async def freeze_hours_to_days(apps: Any, schema_editor: Any) -> None:
    """Back to whole days, rounded up: a downgrade never releases commission earlier."""
    await _rename(apps, "freeze_hours", "freeze_days", lambda hours: -(-hours // 24))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("distributor", "0001_initial")]

    initial = False

    operations = [ops.RunPython(freeze_days_to_hours, freeze_hours_to_days)]
