"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.migrate import schema_is_current, upgrade_to_head
from bot.db.models import Base


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    assert await schema_is_current(engine)
