"""The suite installs ``tests/plugin_dist`` like a wheel on ``sys.path``: the example plugin
is found through its ``yutang.plugins`` entry point, as any third-party plugin would be.

The payment gateways' tests share the app served over real HTTP (their fake gateways
call it back) and a deployment key for sealed credentials."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
import uvicorn

from yutang.core import gateways, sealing
from yutang.core.runtime import Runtime

PLUGIN_DIST = Path(__file__).parent / "plugin_dist"
sys.path.insert(0, str(PLUGIN_DIST))


@pytest.fixture
def secret_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    key = sealing.new_key()
    monkeypatch.setenv(sealing.ENV, key)
    return key


@pytest_asyncio.fixture
async def live(yutang_db: Runtime, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The real app served by uvicorn on a loopback port (the gateway calls it back);
    its URL is the deployment's public URL."""
    from yutang.app import create_app

    app = create_app(yutang_db, worker=False, manage_db=False, debug=True)
    config = uvicorn.Config(
        cast(Any, app), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # up to 10 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv(gateways.PUBLIC_URL, url)
    try:
        yield url
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture
async def web(live: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live, trust_env=False) as client:
        yield client
