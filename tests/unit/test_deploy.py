"""The reverse proxy exposes the webhook path and nothing else (no /metrics, no /healthz)."""

from __future__ import annotations

import re
from pathlib import Path

CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "Caddyfile"


def test_the_proxy_forwards_only_the_webhook_path() -> None:
    config = "\n".join(
        line for line in CADDYFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    handles = re.findall(r"^\s*handle\b(.*)$", config, flags=re.MULTILINE)
    assert [h.strip() for h in handles] == ["{$WEBHOOK_PATH:/telegram} {", "{"]
    # The one reverse_proxy is inside the webhook's handle; the catch-all only answers 404.
    webhook, rest = config.split("handle {\n", 1)[0], config.split("handle {\n", 1)[1]
    assert webhook.count("reverse_proxy") == 1
    assert "reverse_proxy" not in rest and "respond 404" in rest
    assert "metrics" not in config
