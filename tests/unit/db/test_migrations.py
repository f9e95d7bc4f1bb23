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


async def test_updates_stored_before_0003_get_their_sender(engine: AsyncEngine) -> None:
    from alembic import command
    from sqlalchemy import text

    from bot.db.migrate import alembic_config

    rows = [
        (1, '{"update_id": 1, "message": {"from": {"id": 42}, "chat": {"id": 42}}}'),
        (2, '{"update_id": 2, "message": "unreadable"}'),
    ]
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0002"))
        for update_id, payload in rows:
            await conn.execute(
                text(
                    "INSERT INTO inbound_update (update_id, payload, received_at) "
                    "VALUES (:id, :payload, CURRENT_TIMESTAMP)"
                ),
                {"id": update_id, "payload": payload},
            )
    await upgrade_to_head(engine)
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT update_id, telegram_user_id FROM inbound_update ORDER BY update_id")
        )
        assert [tuple(r) for r in found] == [(1, 42), (2, None)]
