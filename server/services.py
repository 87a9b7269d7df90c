"""The long-lived clients one process shares: database sessions and Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from execution.artifact_storage import (
    ArtifactStorage,
    LocalArtifactStorage,
    ObjectArtifactStorage,
    S3Location,
)
from execution.broker import create_broker
from execution.dispatch import QueueDispatcher
from execution.events import RedisEventBus, RedisEventPublisher
from models.database import create_engine, create_read_session_factory, create_session_factory
from resolvers.dispatch import RunDispatcher
from resolvers.events import publish_committed_events
from resolvers.run_feeds import LiveRuns
from server.settings import Settings


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
    redis: Redis
    dispatcher: RunDispatcher
    engine: AsyncEngine | None = None
    # Sessions for reads, outside any transaction; None reads through `session_factory`.
    read_session_factory: async_sessionmaker[AsyncSession] | None = None
    # Subscriptions' events: one Redis pub/sub connection for the process.
    live: LiveRuns | None = None
    bus: RedisEventBus | None = None
    # Where artifacts are served from; None: the settings' artifacts directory.
    artifacts: ArtifactStorage | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Connect lazily to the PostgreSQL and Redis the settings name.

        Events committed through these sessions are published on Redis after commit.
        """
        engine = create_engine(settings.require_database_url(), pool_size=settings.db_pool_size)
        redis = Redis.from_url(
            settings.require_redis_url(),
            socket_connect_timeout=settings.readiness_timeout_s,
            health_check_interval=30,
        )
        sessions = create_session_factory(engine)
        publish_committed_events(sessions, RedisEventPublisher(redis))
        bus = RedisEventBus(
            settings.require_redis_url(), queue_limit=settings.subscriber_queue_limit
        )
        return cls(
            settings=settings,
            session_factory=sessions,
            redis=redis,
            dispatcher=QueueDispatcher(create_broker(settings.require_redis_url())),
            engine=engine,
            read_session_factory=create_read_session_factory(engine),
            live=LiveRuns(sessions, bus),
            bus=bus,
            artifacts=artifact_storage(settings),
        )

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for reads (see `create_read_session_factory`)."""
        return self.read_session_factory or self.session_factory

    async def aclose(self) -> None:
        """Close Redis and, if this object created it, the engine's pool."""
        if self.bus is not None:
            await self.bus.aclose()
        await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()
