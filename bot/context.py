"""Typed PTB context: what every handler and job can reach (sessions, clock, settings)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.clock import Clock
from bot.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.sweep import ScheduleSweep


class BotData:
    """Long-lived objects, set once by build_application; never per-user state."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: Settings
    dispatcher: Dispatcher
    sweep: ScheduleSweep
    migrate_on_start: bool = True


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every callback receives."""


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[BotContext]
]
