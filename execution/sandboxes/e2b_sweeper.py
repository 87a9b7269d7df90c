"""Finding E2B sandboxes whose test case is over and killing them (a worker died mid-case)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, Unpack

from e2b import ApiParams, AsyncSandbox, SandboxInfo, SandboxQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.sandboxes.e2b import ITEM_ID_KEY, api_params
from models.enums import ItemStatus
from models.runs import TestRunItem

logger = logging.getLogger(__name__)


class E2BSandboxPages(Protocol):
    """`e2b.AsyncSandboxPaginator`."""

    @property
    def has_next(self) -> bool:
        """Whether next_items() has more."""

    async def next_items(self) -> list[SandboxInfo]:
        """The next page."""


class E2BSandboxDirectory(Protocol):
    """The control plane's list and kill (`e2b.AsyncSandbox`'s, or a stand-in in tests)."""

    def list(self, query: SandboxQuery | None = None, **opts: Unpack[ApiParams]) -> E2BSandboxPages:
        """Running and paused sandboxes whose metadata has all of `query.metadata`."""

    async def kill(self, sandbox_id: str, **opts: Unpack[ApiParams]) -> bool:
        """Destroy a sandbox; False when there is no such sandbox."""


async def sweep_leaked_sandboxes(
    *,
    api_key: str,
    is_live: Callable[[uuid.UUID], Awaitable[bool]],
    metadata: Mapping[str, str] | None = None,
    domain: str | None = None,
    api_url: str | None = None,
    client: E2BSandboxDirectory = AsyncSandbox,
) -> int:
    """Kill the testrun sandboxes whose test case is no longer live; return how many died.

    Sandboxes without a test case's tag are someone else's and never touched, and so are
    those whose tag does not parse.

    Args:
        api_key: The team's E2B API key.
        is_live: Whether a test case (by item id) still runs, so its sandbox is in use.
        metadata: The provider's extra tags; only sandboxes with all of them are swept.
        domain: E2B's domain, as for the provider.
        api_url: The control plane's URL, as for the provider.
        client: The SDK's control plane; E2B's `AsyncSandbox` by default.

    Raises:
        Exception: Listing the sandboxes or `is_live` failed; nothing more is killed.
    """
    params = api_params(api_key=api_key, domain=domain, api_url=api_url)
    pages = client.list(query=SandboxQuery(metadata=dict(metadata) if metadata else None), **params)
    # Listed in full before killing, so the kills cannot shift the pages being read.
    listed: list[SandboxInfo] = []
    while pages.has_next:
        listed.extend(await pages.next_items())
    killed = 0
    for info in listed:
        tag = info.metadata.get(ITEM_ID_KEY)
        if tag is None:
            continue
        try:
            item_id = uuid.UUID(tag)
        except ValueError:
            logger.warning(
                "E2B sandbox %s has a malformed %s=%r", info.sandbox_id, ITEM_ID_KEY, tag
            )
            continue
        if await is_live(item_id):
            continue
        try:
            if await client.kill(info.sandbox_id, **params):
                killed += 1
                logger.info("Killed leaked E2B sandbox %s (item %s)", info.sandbox_id, item_id)
        except Exception:
            logger.exception("Could not kill leaked E2B sandbox %s", info.sandbox_id)
    return killed


def sweeper_job(
    *,
    api_key: str,
    every_s: float,
    metadata: Mapping[str, str] | None = None,
    domain: str | None = None,
    client: E2BSandboxDirectory = AsyncSandbox,
) -> Callable[[async_sessionmaker[AsyncSession]], Awaitable[None]]:
    """A scheduler job sweeping leaked sandboxes at most every `every_s` seconds.

    A sandbox is in use while its item is queued or running; any other item (or none: a
    deleted run) means the worker that made it is gone without killing it.
    """
    last_sweep = -every_s

    async def sweep_e2b_sandboxes(sessions: async_sessionmaker[AsyncSession]) -> None:
        nonlocal last_sweep
        if time.monotonic() - last_sweep < every_s:
            return
        last_sweep = time.monotonic()

        async def is_live(item_id: uuid.UUID) -> bool:
            async with sessions() as session:
                status = await session.scalar(
                    select(TestRunItem.status).where(TestRunItem.id == item_id)
                )
            return status in (ItemStatus.QUEUED, ItemStatus.RUNNING)

        killed = await sweep_leaked_sandboxes(
            api_key=api_key, is_live=is_live, metadata=metadata, domain=domain, client=client
        )
        if killed:
            logger.warning("killed %d E2B sandboxes their workers left behind", killed)

    return sweep_e2b_sandboxes
