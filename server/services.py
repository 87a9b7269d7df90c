"""The long-lived clients one process shares: database sessions, Redis or inline execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from execution.artifact_storage import (
    ArtifactStorage,
    LocalArtifactStorage,
    ObjectArtifactStorage,
    S3Location,
)
from execution.broker import create_broker
from execution.claims import Liveness
from execution.dead_letters import RedisDeadLetterBox
from execution.dispatch import QueueDispatcher
from execution.events import RedisEventBus, RedisEventPublisher
from execution.memory_events import InMemoryEventBus
from models.database import create_engine, create_read_session_factory, create_session_factory
from resolvers.dead_letters import DeadLetterBox
from resolvers.dispatch import RunDispatcher
from resolvers.events import publish_committed_events
from resolvers.run_feeds import LiveRuns
from server.settings import Settings

if TYPE_CHECKING:  # the engine, browsers and sandbox SDKs load only in inline mode
    from execution.inline import InlineExecution


def artifact_storage(settings: Settings) -> ArtifactStorage:
    """Where artifacts are kept: TESTRUN_ARTIFACTS_URL's bucket, else TESTRUN_ARTIFACTS_DIR."""
    if not settings.artifacts_url:
        return LocalArtifactStorage(settings.artifacts_dir)
    secret = settings.s3_secret_access_key
    return ObjectArtifactStorage(
        S3Location.parse(settings.artifacts_url),
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )


@dataclass(slots=True)
class Services:
    """Clients built once per process from the settings and closed at shutdown."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    # None in inline mode, which uses no Redis at all.
    redis: Redis | None
    dispatcher: RunDispatcher
    engine: AsyncEngine | None = None
    # Sessions for reads, outside any transaction; None reads through `session_factory`.
    read_session_factory: async_sessionmaker[AsyncSession] | None = None
    # Subscriptions' events: one Redis pub/sub connection for the process, or in memory.
    live: LiveRuns | None = None
    bus: RedisEventBus | InMemoryEventBus | None = None
    # Set in inline mode: the runs this process executes itself.
    inline: InlineExecution | None = None
    # Messages the workers gave up on, as the broker keeps them; None in inline mode.
    dead_letters: DeadLetterBox | None = None
    # Where artifacts are served from; None: the settings' artifacts directory.
    artifacts: ArtifactStorage | None = None

    @property
    def mode(self) -> str:
        """Who executes runs: `inline` (this process) or `redis` (workers, through Redis)."""
        return "inline" if self.inline is not None else "redis"

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Connect lazily to the PostgreSQL and Redis the settings name.

        Events committed through these sessions are published on Redis after commit, or,
        in inline mode (`TESTRUN_INLINE`), to this process's own subscribers.
        """
        engine = create_engine(settings.require_database_url(), pool_size=settings.db_pool_size)
        sessions = create_session_factory(engine)
        read_sessions = create_read_session_factory(engine)
        if settings.inline:
            from execution.inline import InlineExecution
            from server.sandboxes import sandbox_provider

            memory = InMemoryEventBus(queue_limit=settings.subscriber_queue_limit)
            publish_committed_events(sessions, memory)
            inline = InlineExecution(
                sessions,
                sandbox_provider(settings),
                artifacts=settings.artifacts_dir,
                step_timeout_ms=settings.step_timeout_ms,
                liveness=Liveness.of_seconds(settings.heartbeat_every_s, settings.reap_after_s),
                max_running_items=settings.max_running_items,
                feed=memory,
            )
            return cls(
                settings=settings,
                session_factory=sessions,
                redis=None,
                dispatcher=inline,
                engine=engine,
                read_session_factory=read_sessions,
                live=LiveRuns(sessions, memory),
                bus=memory,
                inline=inline,
            )
        redis = Redis.from_url(
            settings.require_redis_url(),
            socket_connect_timeout=settings.readiness_timeout_s,
            health_check_interval=30,
        )
        publish_committed_events(sessions, RedisEventPublisher(redis))
        broker = create_broker(settings.require_redis_url())
        bus = RedisEventBus(
            settings.require_redis_url(), queue_limit=settings.subscriber_queue_limit
        )
        return cls(
            settings=settings,
            session_factory=sessions,
            redis=redis,
            dispatcher=QueueDispatcher(broker),
            engine=engine,
            read_session_factory=read_sessions,
            live=LiveRuns(sessions, bus),
            bus=bus,
            dead_letters=RedisDeadLetterBox(redis, broker),
            artifacts=artifact_storage(settings),
        )

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for reads (see `create_read_session_factory`)."""
        return self.read_session_factory or self.session_factory

    def start(self) -> None:
        """Start what runs in the background: the Redis bus, or inline mode's reaper."""
        if self.bus is not None:
            self.bus.start()
        if self.inline is not None:
            self.inline.start(reap_every_s=self.settings.inline_reap_every_s)

    async def aclose(self) -> None:
        """Stop inline executions, close Redis and, if this object created it, the pool."""
        if self.inline is not None:
            await self.inline.aclose()
        if self.bus is not None:
            await self.bus.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()
