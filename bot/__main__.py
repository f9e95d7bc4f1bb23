"""The `prospect-coach` command: run, demo, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import ConfigError, Settings, load_settings
from bot.db.migrate import schema_is_current, upgrade_to_head
from bot.db.session import create_engine
from bot.logs import configure_logging

logger = logging.getLogger("bot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="prospect-coach", description="A Telegram coach that keeps owners prospecting."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (long polling, or --webhook)")
    run.add_argument(
        "--webhook", action="store_true", help="serve a webhook (WEBHOOK_URL, WEBHOOK_SECRET)"
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    demo = commands.add_parser(
        "demo", help="chat with the bot in this terminal (no token, no network)"
    )
    demo.add_argument("--lang", choices=("en", "fr"), default="en")
    demo.add_argument(
        "--script",
        type=Path,
        help="play the lines of this file as the user and print the transcript",
    )
    demo.add_argument(
        "--db", type=Path, default=Path("data") / "demo.db", help="SQLite file for the demo"
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="start afresh: remove the demo's database and the files it saved",
    )
    return parser.parse_args(argv)


def fail(message: str) -> int:
    print(f"prospect-coach: {message}", file=sys.stderr)
    return 2


async def prepare_database(settings: Settings, *, migrate: bool = True) -> None:
    """Create the SQLite folder if needed, check the database answers, apply migrations.

    Without `migrate`, a schema behind the code stops the bot: another step migrates first.
    """
    url = make_url(settings.database_url)
    if settings.is_sqlite and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        if migrate:
            await upgrade_to_head(engine)
        elif not await schema_is_current(engine):
            raise ConfigError(
                "the database schema is behind this version: run `prospect-coach migrate` "
                "first (MIGRATE_ON_START=false is set)"
            )
    except (OSError, Exception) as exc:  # drivers raise many types; all mean "cannot use it"
        if isinstance(exc, ConfigError):
            raise
        where = url.render_as_string(hide_password=True)
        reason = (str(exc).splitlines() or [""])[0][:200]
        raise ConfigError(
            f"DATABASE_URL: cannot use the database at {where} ({type(exc).__name__}: {reason}); "
            "check that it is running and that the URL is right"
        ) from exc
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        if args.command == "demo":
            from bot.demo import run_demo

            configure_logging("WARNING")
            return asyncio.run(
                run_demo(
                    lang=args.lang,
                    script=args.script,
                    db_path=args.db.absolute(),
                    fresh=args.reset,
                )
            )
        settings = load_settings(require_token=args.command == "run")
        configure_logging(settings.log_level, secrets=[settings.token.get()])
        asyncio.run(
            prepare_database(
                settings, migrate=args.command == "migrate" or settings.migrate_on_start
            )
        )
        if args.command == "migrate":
            print("database schema is up to date")
            return 0
        return run(settings, webhook=args.webhook)
    except ConfigError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return 130


def run(settings: Settings, *, webhook: bool) -> int:
    from bot.app import build_application
    from bot.runner import serve, single_sqlite_process

    if webhook and (not settings.webhook_url or not settings.webhook_secret):
        raise ConfigError("run --webhook needs WEBHOOK_URL (https://...) and WEBHOOK_SECRET set")
    with single_sqlite_process(settings):
        # The schema is already current (prepare_database): post_init need not migrate again.
        application = build_application(settings, migrate=False)
        asyncio.run(serve(application, settings, webhook=webhook))
    return 0


if __name__ == "__main__":
    sys.exit(main())
