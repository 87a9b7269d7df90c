"""Choosing the workers' sandboxes from the settings (`TESTRUN_SANDBOX`)."""

from __future__ import annotations

from execution.sandboxes.base import SandboxProvider
from execution.sandboxes.chromium import ensure_chromium
from execution.sandboxes.local import LocalSandboxProvider
from server.settings import Settings


def sandbox_provider(settings: Settings) -> SandboxProvider:
    """The sandboxes `TESTRUN_SANDBOX` asks for: local Chromium, or E2B."""
    return LocalSandboxProvider(ensure_chromium(settings.chromium, install=False))
