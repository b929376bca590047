import pytest_asyncio
from yutang import api


@pytest_asyncio.fixture
async def tenant(make_tenant) -> api.TenantInfo:
    """The default ``shop`` tenant with the bargain plugin enabled."""
    return await make_tenant("shop", plugins=["bargain"], settings={"bargain": {"valid_hours": 24}})
