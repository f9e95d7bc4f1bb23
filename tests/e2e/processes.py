"""The bot as a real subprocess (`python -m bot run`), for restart, crash and replica tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from bot.sandbox import BotApiSandbox


def bot_env(sandbox: BotApiSandbox, database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment, pointed at the sandbox and the test database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=sandbox.token,
        TELEGRAM_API_BASE_URL=sandbox.base_url,
        TELEGRAM_API_FILE_URL=sandbox.base_file_url,
        DATABASE_URL=database_url,
        DISPATCH_INTERVAL_SECONDS="1",
        METRICS_PORT=str(free_port()),  # never two test processes on the default port
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`python -m bot run` with its environment and a log file; started and stopped on demand."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", *args, env=self.env, stdout=log, stderr=log
            )

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a machine dies."""
        assert self.process is not None
        self.process.kill()

    async def wait(self) -> None:
        assert self.process is not None
        await self.process.wait()
