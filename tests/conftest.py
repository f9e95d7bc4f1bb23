"""Fixtures shared by every test: databases (SQLite always, PostgreSQL when reachable), clocks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import Phase, settings
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import MovableClock
from bot.db.session import create_sessionmaker
from tests.databases import (
    clear_tables,
    create_postgres_database,
    drop_postgres_database,
    migrated_engine,
    postgres_reachable,
    sqlite_url,
)

# In CI a failing example is reported as found: shrinking a minute-long end-to-end example can
# outlast the run. Locally, examples are shrunk as usual.
settings.register_profile("ci", phases=[Phase.explicit, Phase.reuse, Phase.generate])
if os.environ.get("CI"):
    settings.load_profile("ci")

# The modules whose tests take a minute or more start first, then the other end-to-end tests.
LONGEST_FIRST = ("tests/e2e/test_demo.py", "tests/e2e/test_replicas.py", "tests/e2e/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next(
            (i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)),
            len(LONGEST_FIRST),
        )

    items.sort(key=rank)  # stable: each module keeps its own order


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole run, tables emptied between tests."""
    if not postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL must be reachable in CI (see .ci/run)")
        pytest.skip("PostgreSQL is not reachable")
    url = asyncio.run(create_postgres_database())
    yield url
    asyncio.run(drop_postgres_database(url))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(database_url) as engine:
        await clear_tables(engine)
        yield engine


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def clock() -> MovableClock:
    # A Friday morning in Paris (08:00 UTC = 09:00 CET).
    return MovableClock(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
