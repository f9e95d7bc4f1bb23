"""Container health check: in webhook mode ask /healthz (which checks the database)."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    if not os.environ.get("WEBHOOK_URL"):
        return 0  # polling mode: the process running is the health signal
    port = os.environ.get("WEBHOOK_PORT", "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
