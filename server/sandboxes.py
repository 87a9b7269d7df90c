"""Choosing the workers' sandboxes from the settings (`TESTRUN_SANDBOX`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from execution.live_view import LiveViewConfig
from execution.sandboxes.base import SandboxProvider
from execution.sandboxes.cdp import CdpSandboxProvider
from execution.sandboxes.chromium import ensure_chromium
from execution.sandboxes.e2b import E2BSandboxProvider, deployment_metadata
from execution.sandboxes.e2b_sweeper import sweeper_job
from execution.sandboxes.local import LocalSandboxProvider
from execution.sandboxes.script_isolation import ScriptIsolation
from server.settings import Settings

if TYPE_CHECKING:  # the worker imports this module; it needs none of the scheduler
    from execution.scheduler import Job


def _e2b_key(settings: Settings) -> str | None:
    return settings.e2b_api_key.get_secret_value() if settings.e2b_api_key else None


def sandbox_provider(settings: Settings) -> SandboxProvider:
    """The sandboxes `TESTRUN_SANDBOX` asks for: local Chromium, E2B, or a CDP fleet.

    Without `E2B_API_KEY` the E2B provider still starts; each test case then fails with
    a message saying the key is missing, which the run shows where people look.
    """
    if settings.sandbox == "e2b":
        return E2BSandboxProvider(
            api_key=_e2b_key(settings),
            domain=settings.e2b_domain,
            template=settings.e2b_template,
            metadata=deployment_metadata(settings.e2b_deployment),
        )
    live_view = None
    if settings.redis_url and not settings.inline:  # frames are relayed through Redis
        live_view = LiveViewConfig(redis_url=settings.redis_url, base_url=settings.base_url)
    if settings.sandbox == "cdp":
        if not settings.cdp_urls:
            raise RuntimeError(
                "TESTRUN_SANDBOX=cdp needs TESTRUN_CDP_URLS: the Chrome DevTools endpoints "
                "of the browser fleet, comma-separated (e.g. http://chrome-1:9222)."
            )
        return CdpSandboxProvider(
            settings.cdp_urls,
            live_view=live_view,
            opening_per_endpoint=settings.cdp_opening_per_endpoint,
        )
    return LocalSandboxProvider(
        ensure_chromium(settings.chromium, install=False),
        live_view=live_view,
        isolation=script_isolation(settings),
        spare_idle_s=settings.spare_browser_idle_s or None,
    )


def script_isolation(settings: Settings) -> ScriptIsolation:
    """How local scripts are isolated: the settings, and the service's own ports denied."""
    ports = set(settings.script_denied_ports)
    for url in (settings.database_url, settings.redis_url):
        if url:
            parsed = make_url(url)
            default = 6379 if parsed.drivername.startswith("redis") else 5432
            ports.add(parsed.port or default)
    return ScriptIsolation(
        mode=settings.script_isolation,
        denied_ports=frozenset(ports),
        memory_mb=settings.script_memory_mb,
        max_processes=settings.script_max_processes,
        max_file_mb=settings.script_max_file_mb,
    )


def sandbox_jobs(settings: Settings) -> list[Job]:
    """The scheduler's periodic work for the sandboxes: sweeping leaked E2B ones."""
    key = _e2b_key(settings)
    if settings.sandbox != "e2b" or not key:
        return []
    job = sweeper_job(
        api_key=key,
        every_s=settings.e2b_sweep_every_s,
        metadata=deployment_metadata(settings.e2b_deployment),
        domain=settings.e2b_domain,
    )
    return [job]
