"""The long-lived clients one process shares: database sessions and Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from execution.broker import create_broker
from execution.dispatch import QueueDispatcher
from models.database import create_engine, create_session_factory
from resolvers.dispatch import RunDispatcher
from server.settings import Settings


@dataclass(slots=True)
class Services:
    """Clients built once per process from the settings and closed at shutdown."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis
    dispatcher: RunDispatcher
    engine: AsyncEngine | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Connect lazily to the PostgreSQL and Redis the settings name."""
        engine = create_engine(settings.require_database_url(), pool_size=settings.db_pool_size)
        redis = Redis.from_url(
            settings.require_redis_url(),
            socket_connect_timeout=settings.readiness_timeout_s,
            health_check_interval=30,
        )
        return cls(
            settings=settings,
            session_factory=create_session_factory(engine),
            redis=redis,
            dispatcher=QueueDispatcher(create_broker(settings.require_redis_url())),
            engine=engine,
        )

    async def aclose(self) -> None:
        """Close Redis and, if this object created it, the engine's pool."""
        await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()
