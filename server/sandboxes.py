"""Choosing the workers' sandboxes from the settings (`TESTRUN_SANDBOX`)."""

from __future__ import annotations

from execution.live_view import LiveViewConfig
from execution.sandboxes.base import SandboxProvider
from execution.sandboxes.chromium import ensure_chromium
from execution.sandboxes.e2b import E2BSandboxProvider
from execution.sandboxes.local import LocalSandboxProvider
from server.settings import Settings


def sandbox_provider(settings: Settings) -> SandboxProvider:
    """The sandboxes `TESTRUN_SANDBOX` asks for: local Chromium, or E2B.

    Without `E2B_API_KEY` the E2B provider still starts; each test case then fails with
    a message saying the key is missing, which the run shows where people look.
    """
    if settings.sandbox == "e2b":
        key = settings.e2b_api_key.get_secret_value() if settings.e2b_api_key else None
        return E2BSandboxProvider(api_key=key)
    live_view = None
    if settings.redis_url:
        live_view = LiveViewConfig(
            redis_url=settings.redis_url,
            base_url=settings.base_url,
            secret=settings.secret_key.get_secret_value(),
        )
    return LocalSandboxProvider(
        ensure_chromium(settings.chromium, install=False), live_view=live_view
    )
