"""Test databases: a fresh SQLite file per test, and PostgreSQL when it is reachable."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import normalize_database_url
from bot.db.migrate import upgrade_to_head
from bot.db.models import Base
from bot.db.session import create_engine

# The CI machine runs PostgreSQL here (trust auth); override with TEST_POSTGRES_URL.
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _postgres_reachable() -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL)), 3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


_reachable: bool | None = None


def postgres_reachable() -> bool:
    global _reachable
    if _reachable is None:
        _reachable = asyncio.run(_postgres_reachable())
    return _reachable


async def create_postgres_database() -> str:
    """A new empty database for one test run; returns its async URL."""
    name = f"pc_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = normalize_database_url(POSTGRES_ADMIN_URL)
    return base.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'coach.db'}"


async def clear_tables(engine: AsyncEngine) -> None:
    """Empty every table (children first) so a migrated database can serve the next test."""
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(text(f'DELETE FROM "{table.name}"'))


@asynccontextmanager
async def migrated_engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    await upgrade_to_head(engine)
    try:
        yield engine
    finally:
        await engine.dispose()
