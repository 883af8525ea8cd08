"""Fixtures for tests where the DingTalk adapter runs with a staff chat: the fake gateway, the services
configured for it and the connected adapter, registered for push as run_dingtalk does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot import channels
from bot.channels import dingtalk
from bot.services.container import build_services
from ingest.settings import Settings
from tests.fake_dingtalk import FakeDingTalk

STAFF_CHAT = "cid-staff"


@pytest.fixture
async def fake():
    server = FakeDingTalk()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def services(small_store: Path, tmp_path: Path, fake: FakeDingTalk):
    settings = Settings(govbot_home=tmp_path, govbot_dingtalk_client_id="ding-id",
                        govbot_dingtalk_client_secret="ding-secret", govbot_dingtalk_staff_chat=STAFF_CHAT,
                        govbot_dingtalk_api_base=fake.base,
                        govbot_dingtalk_gateway_url=f"{fake.base}/v1.0/gateway/connections/open")
    return build_services(small_store, settings)


@pytest.fixture
async def stream(services, fake: FakeDingTalk):
    """The adapter connected to the fake gateway and registered for push, as run_dingtalk does."""
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        client, handler = dingtalk.build_client(services, http, retry_delay=0.01)
        task = asyncio.create_task(client.start())
        await fake.wait_connected()
        channels.register("dingtalk", handler)
        yield handler
        channels.unregister("dingtalk", handler)
        task.cancel()
        await asyncio.gather(task, *handler.tasks, return_exceptions=True)
