"""Process settings, read from the environment once through `get_settings()`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the processes read; each field names its environment variable."""

    model_config = SettingsConfigDict(
        env_prefix="TESTRUN_", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL URL (postgresql+asyncpg://...). Unset in `testrun dev`: embedded.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL"),
        description="Redis URL (redis://host:port/0). Unset in `testrun dev`: embedded.",
    )
    e2b_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("E2B_API_KEY"),
        description="E2B API key, needed when TESTRUN_SANDBOX=e2b.",
    )
    e2b_domain: str | None = Field(
        default=None,
        validation_alias=AliasChoices("E2B_DOMAIN"),
        description="E2B's domain, for self-hosted E2B (default: e2b.app).",
    )
    e2b_template: str = Field(
        default="desktop", description="E2B template with a desktop, Chrome and noVNC."
    )
    e2b_deployment: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "Tags this deployment's E2B sandboxes, so its sweeper only kills its own "
            "when several deployments share one E2B team."
        ),
    )
    e2b_sweep_every_s: float = Field(
        default=60.0, gt=0, description="How often the scheduler kills leaked E2B sandboxes."
    )
    sandbox: Literal["local", "e2b", "cdp"] = Field(
        default="local",
        description="Where browsers run: local Chromium, E2B sandboxes, or a remote Chrome "
        "fleet over CDP (TESTRUN_CDP_URLS).",
    )
    cdp_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Chrome DevTools endpoints of the browser fleet when TESTRUN_SANDBOX=cdp, "
        "comma-separated (e.g. http://chrome-1:9222,http://chrome-2:9222).",
    )
    cdp_opening_per_endpoint: int = Field(
        default=2,
        ge=1,
        le=100,
        description="With TESTRUN_SANDBOX=cdp, how many contexts a worker opens at once on one "
        "endpoint; the rest wait their turn (opening a tab is a browser's costly moment).",
    )
    chromium: Path | None = Field(
        default=None, description="Chromium executable; auto-detected when unset."
    )
    spare_browser_idle_s: float = Field(
        default=30.0,
        ge=0,
        description="With local Chromium, a worker keeps the next test case's browser launched "
        "ahead; a spare nobody takes within this many seconds is closed. 0: none launched ahead.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Where `testrun dev` keeps the embedded PostgreSQL, Redis and dev token.",
    )
    artifacts_dir: Path = Field(
        default=Path("var/artifacts"),
        description="Screenshots, videos, traces and reports.",
    )
    artifacts_url: str | None = Field(
        default=None,
        pattern=r"^s3://[^/]+(/.*)?$",
        description="s3://bucket/prefix: keep artifacts in S3-compatible storage instead of "
        "TESTRUN_ARTIFACTS_DIR (workers upload each result's files, the api streams them).",
    )
    s3_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_ENDPOINT_URL"),
        description="S3-compatible server for TESTRUN_ARTIFACTS_URL (MinIO...); unset: AWS.",
    )
    s3_region: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_REGION"), description="S3 region."
    )
    s3_access_key_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_ACCESS_KEY_ID"),
        description="S3 access key for TESTRUN_ARTIFACTS_URL.",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY"),
        description="S3 secret key for TESTRUN_ARTIFACTS_URL.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("dev-insecure-secret-change-me"),
        description="Signs artifact URLs and webhooks. Set a random value in production.",
    )
    artifact_url_ttl_s: int = Field(
        default=3600,
        ge=10,
        le=7 * 24 * 3600,
        description="How long a signed artifact URL (a report's screenshot link) stays valid.",
    )
    step_timeout_ms: int = Field(
        default=15_000,
        ge=100,
        le=600_000,
        description="How long one step may wait for its element, page or assertion.",
    )
    script_isolation: Literal["bubblewrap", "none"] = Field(
        default="bubblewrap",
        description="How the local sandbox runs python/shell scripts: bubblewrap (isolated; "
        "scripts fail, saying why, where it cannot work) or none (on the worker host, as its "
        "user: only where every script author is trusted).",
    )
    script_denied_ports: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="TCP ports scripts may not connect to on any host, comma-separated, "
        "besides the ports of DATABASE_URL and REDIS_URL, which are always denied.",
    )
    script_memory_mb: int = Field(
        default=512, ge=32, description="Address space one script may use, in MiB."
    )
    script_max_processes: int = Field(
        default=64, ge=2, description="Processes (and threads) one script may run at once."
    )
    script_max_file_mb: int = Field(
        default=64, ge=1, description="Largest file a script may write, in MiB."
    )
    flaky_window: int = Field(
        default=20,
        ge=2,
        le=1000,
        description="How many recent executions of a test case decide whether it is flaky.",
    )
    host: str = Field(default="127.0.0.1", description="Address the api listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the api listens on.")
    public_url: str | None = Field(
        default=None, description="Base URL clients reach the api at (default: from host/port)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level of every process."
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Log lines as JSON objects (with run_id, item_id, worker where they "
        "apply), or readable text; `testrun dev` uses text.",
    )
    inline: bool = Field(
        default=False,
        description="Inline mode: the api executes runs itself, one task per item, with events "
        "in memory; no Redis, worker or scheduler is used (REDIS_URL is ignored).",
    )
    inline_reap_every_s: float = Field(
        default=5.0,
        gt=0,
        description="In inline mode, how often the api looks for items whose execution went "
        "silent (e.g. interrupted by a restart) and executes them again.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends to scrape the api's /metrics.",
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve the api's /metrics without a token (only on a private network).",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which `testrun worker` and `testrun scheduler` serve their own "
        "metrics (unauthenticated, on TESTRUN_HOST); unset: not served.",
    )
    max_running_items: int | None = Field(
        default=None,
        ge=1,
        description="Items running at once over every worker (browsers); the others wait "
        "as `queued`, and a run whose items all wait shows `queued`. Unset: no global cap.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections per process.")
    readiness_timeout_s: float = Field(
        default=2.0, gt=0, description="How long /readyz waits for PostgreSQL and Redis."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for schedule emails; unset: no emails are sent."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if it needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (upgrade on port 587), tls (implicit, port 465) or none.",
    )
    smtp_from: str = Field(
        default="testrun@localhost", description="Sender address of schedule emails."
    )
    smtp_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of one SMTP send.")
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to open GraphQL WebSockets, comma-separated "
        "(e.g. https://dashboard.example.com); the api's own origin always is, * allows any.",
    )
    token_recheck_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often open WebSockets re-check their token: a revoked or expired "
        "one is closed (4403) within this long.",
    )
    max_subscriptions_per_connection: int = Field(
        default=20, ge=1, le=1000, description="Subscriptions one WebSocket may hold at once."
    )
    heartbeat_every_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often a worker writes that the item it executes is alive.",
    )
    reap_after_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="How long an item's worker may stay silent before the scheduler hands "
        "the item to another worker (or re-dispatches a run whose start message was lost).",
    )
    subscriber_queue_limit: int = Field(
        default=256,
        ge=1,
        description="Events waiting for one slow subscriber before it is resynced from the log.",
    )

    @field_validator("cdp_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        """`a,b` from the environment as a list of URLs."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """`a,b` from the environment as a list; origins compare without a trailing slash."""
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [str(part).strip().rstrip("/") for part in value]
        return value

    @field_validator("script_denied_ports", mode="before")
    @classmethod
    def _split_ports(cls, value: object) -> object:
        """`5433,6380` from the environment as a list of ports."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _reap_after_outlasts_heartbeats(self) -> Settings:
        """A live worker must get at least two heartbeats in before its item is reaped."""
        if self.reap_after_s < 2 * self.heartbeat_every_s:
            raise ValueError(
                f"TESTRUN_REAP_AFTER_S ({self.reap_after_s:g}) must be at least twice "
                f"TESTRUN_HEARTBEAT_EVERY_S ({self.heartbeat_every_s:g}), or live items get reaped"
            )
        return self

    @property
    def base_url(self) -> str:
        """The URL people and clients use to reach the api."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def require_database_url(self) -> str:
        """The PostgreSQL URL, or a clear error for processes that need an external one."""
        if not self.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set. Set it to postgresql+asyncpg://USER:PASS@HOST/DB, "
                "or use `testrun dev`, which starts an embedded PostgreSQL."
            )
        return self.database_url

    def require_redis_url(self) -> str:
        """The Redis URL, or a clear error for processes that need an external one."""
        if not self.redis_url:
            raise RuntimeError(
                "REDIS_URL is not set. Set it to redis://HOST:6379/0, "
                "or use `testrun dev`, which starts an embedded Redis."
            )
        return self.redis_url


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings()


def environment_variables() -> set[str]:
    """Every environment variable name the settings read."""
    names: set[str] = set()
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names
