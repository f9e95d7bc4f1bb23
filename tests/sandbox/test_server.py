"""The sandbox server over raw HTTP: Telegram's envelope, errors, limits, updates and webhooks."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

import bot.sandbox
from bot.sandbox import BotApiSandbox, find_spec_path
from bot.sandbox.spec import SpecMissingError

SPEC_PATH = find_spec_path()


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def sandbox() -> AsyncIterator[BotApiSandbox]:
    # Several calls to one chat in a row: the flood limits have their own tests below.
    async with BotApiSandbox(per_chat_limit=20) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


async def call(
    client: httpx.AsyncClient, sandbox: BotApiSandbox, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST a JSON call; return (HTTP status, decoded body)."""
    response = await client.post(f"{sandbox.api_url}/{method}", json=params)
    return response.status_code, response.json()


async def call_form(
    client: httpx.AsyncClient,
    sandbox: BotApiSandbox,
    method: str,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST the way python-telegram-bot does: urlencoded, or multipart with files."""
    response = await client.post(f"{sandbox.api_url}/{method}", data=data, files=files)
    return response.status_code, response.json()


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------- envelope and errors


async def test_get_me_uses_telegrams_envelope(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    status, body = await call(client, sandbox, "getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert body["result"]["id"] == 123456
    assert sandbox.base_url == f"http://127.0.0.1:{sandbox.port}/bot"
    assert sandbox.base_file_url == f"http://127.0.0.1:{sandbox.port}/file/bot"


async def test_wrong_token_is_unauthorized(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    response = await client.post(f"{sandbox.base_url}123:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_not_found_and_names_are_case_insensitive(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    status, body = await call(client, sandbox, "sendMessagee")
    assert (status, body["description"]) == (404, "Not Found: method not found")
    assert body["ok"] is False and body["error_code"] == 404
    status, _ = await call(client, sandbox, "getme")
    assert status == 200


async def test_get_requests_with_query_parameters_work(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    query: dict[str, str | int] = {"chat_id": 7, "text": "q"}
    response = await client.get(f"{sandbox.api_url}/sendMessage", params=query)
    assert response.json()["result"]["text"] == "q"


async def test_unknown_parameter_and_missing_required_one_are_refused(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    status, body = await call(client, sandbox, "sendMessage", chat_id=7, text="x", parse_mod="HTML")
    assert (status, body["description"]) == (400, "Bad Request: unknown parameter parse_mod")
    status, body = await call(client, sandbox, "sendMessage", text="x")
    assert (status, body["description"]) == (400, 'Bad Request: parameter "chat_id" is required')
    # What python-telegram-bot's Defaults add to every message call is ignored, like Telegram.
    _, body = await call(client, sandbox, "sendMessage", chat_id=7, text="kb")
    status, _ = await call(
        client,
        sandbox,
        "editMessageReplyMarkup",
        chat_id=7,
        message_id=body["result"]["message_id"],
        reply_markup=keyboard({"text": "a", "callback_data": "a"}),
        parse_mode="HTML",
        disable_notification=True,
    )
    assert status == 200
    status, body = await call(client, sandbox, "sendMessage", chat_id=7)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_unknown_chat_is_not_found(sandbox: BotApiSandbox, client: httpx.AsyncClient) -> None:
    status, body = await call(client, sandbox, "sendMessage", chat_id=999, text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_text_limits_count_utf16_after_parsing(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    for text in ("", "   \n"):
        _, body = await call(client, sandbox, "sendMessage", chat_id=7, text=text)
        assert body["description"] == "Bad Request: message text is empty"
    _, body = await call(
        client, sandbox, "sendMessage", chat_id=7, text="<b></b>", parse_mode="HTML"
    )
    assert body["description"] == "Bad Request: message text is empty"

    assert (await call(client, sandbox, "sendMessage", chat_id=7, text="a" * 4096))[0] == 200
    status, body = await call(client, sandbox, "sendMessage", chat_id=7, text="a" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    sandbox.reset_flood()
    # 2048 emoji are 4096 UTF-16 units; tags do not count.
    emoji = "<b>" + "😀" * 2048 + "</b>"
    assert (await call(client, sandbox, "sendMessage", chat_id=7, text=emoji, parse_mode="HTML"))[
        0
    ] == 200
    _, body = await call(client, sandbox, "sendMessage", chat_id=7, text="😀" * 2049)
    assert body["description"] == "Bad Request: message is too long"


async def test_caption_limit(sandbox: BotApiSandbox, client: httpx.AsyncClient) -> None:
    sandbox.user(7)
    files = {"document": ("a.txt", b"hello", "text/plain")}
    data = {"chat_id": "7", "caption": "c" * 1025}
    status, body = await call_form(client, sandbox, "sendDocument", data, files)
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")
    data["caption"] = "c" * 1024
    assert (await call_form(client, sandbox, "sendDocument", data, files))[0] == 200


async def test_html_errors_are_telegrams_parse_errors(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    cases = {
        "a<br>b": 'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 1',
        "<b>x": "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
        '"b"',
        "Q&A": 'Bad Request: can\'t parse entities: Character "&" at byte offset 1 must be escaped '
        'as "&amp;"',
    }
    for text, description in cases.items():
        status, body = await call(
            client, sandbox, "sendMessage", chat_id=7, text=text, parse_mode="HTML"
        )
        assert (status, body["description"]) == (400, description)
    status, body = await call(
        client, sandbox, "sendMessage", chat_id=7, text="*x*", parse_mode="MarkdownV2"
    )
    assert status == 400 and "unsupported parse_mode" in body["description"]
    status, body = await call(
        client, sandbox, "sendMessage", chat_id=7, text="<b>x</b> &amp; y", parse_mode="HTML"
    )
    assert status == 200
    assert body["result"]["text"] == "x & y"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 1}]
    assert sandbox.errors_served[400] == 4


# ---------------------------------------------------------------------- keyboards


def keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


async def test_callback_data_must_be_1_to_64_bytes(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    sandbox.flood_control = False
    ok = keyboard({"text": "ok", "callback_data": "x" * 64})
    assert (await call(client, sandbox, "sendMessage", chat_id=7, text="t", reply_markup=ok))[
        0
    ] == 200
    for data in ("x" * 65, "é" * 33, ""):  # "é" is two bytes in UTF-8
        markup = keyboard({"text": "no", "callback_data": data})
        status, body = await call(
            client, sandbox, "sendMessage", chat_id=7, text="t", reply_markup=markup
        )
        assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


@pytest.mark.parametrize(
    ("button", "needle"),
    [
        ({"text": "plain"}, "Text buttons are unallowed in the inline keyboard"),
        ({"text": "", "callback_data": "x"}, "Text must be non-empty"),
        ({"text": "two", "callback_data": "x", "url": "https://a.b"}, "exactly one of"),
        ({"text": "typo", "callback-data": "x"}, 'unknown field "callback-data"'),
        ({"text": "u", "url": "not a url"}, "Wrong HTTP URL"),
    ],
)
async def test_invalid_inline_buttons_are_refused(
    sandbox: BotApiSandbox, client: httpx.AsyncClient, button: dict[str, Any], needle: str
) -> None:
    sandbox.user(7)
    status, body = await call(
        client, sandbox, "sendMessage", chat_id=7, text="t", reply_markup=keyboard(button)
    )
    assert status == 400 and needle in body["description"]


async def test_markup_as_json_string_in_a_form_and_other_keyboards(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    sandbox.flood_control = False
    markup = json.dumps(keyboard({"text": "Yes", "callback_data": "yes"}))
    status, body = await call_form(
        client, sandbox, "sendMessage", {"chat_id": "7", "text": "q?", "reply_markup": markup}
    )
    assert status == 200
    assert user.buttons(body["result"]) == [[("Yes", "yes")]]
    reply = {"keyboard": [["A", {"text": "B"}]], "resize_keyboard": True}
    status, body = await call(
        client, sandbox, "sendMessage", chat_id=7, text="k", reply_markup=reply
    )
    assert status == 200 and "reply_markup" not in body["result"]
    assert user.reply_keyboard == [["A", "B"]]
    for other in ({"remove_keyboard": True}, {"force_reply": True}):
        status, _ = await call(
            client, sandbox, "sendMessage", chat_id=7, text="k", reply_markup=other
        )
        assert status == 200
    assert user.reply_keyboard is None
    status, body = await call_form(
        client, sandbox, "sendMessage", {"chat_id": "7", "text": "k", "reply_markup": "{nope"}
    )
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


# ---------------------------------------------------------------------- flood and blocking


async def test_flood_control_per_chat_answers_429_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    clock = FakeClock()
    async with BotApiSandbox(clock=clock) as sandbox:
        sandbox.user(7)
        sandbox.user(8)
        assert (await call(client, sandbox, "sendMessage", chat_id=7, text="x"))[0] == 200
        clock.advance(0.5)
        status, body = await call(client, sandbox, "sendMessage", chat_id=7, text="x")
        assert status == 429
        assert body == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        # Another chat is not affected; the first may send again one second after its last.
        assert (await call(client, sandbox, "sendMessage", chat_id=8, text="x"))[0] == 200
        clock.advance(0.5)
        assert (await call(client, sandbox, "sendMessage", chat_id=7, text="x"))[0] == 200
        assert sandbox.errors_served[429] == 1
        assert len(sandbox.sends) == 3
        assert sandbox.max_sends_in_window(1.0, chat_id=7) == 1


async def test_flood_control_counts_edits_like_sends(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    async with BotApiSandbox(clock=clock) as sandbox:
        sandbox.user(7)
        sent = await call(client, sandbox, "sendMessage", chat_id=7, text="x")
        message_id = sent[1]["result"]["message_id"]
        edit = {"chat_id": 7, "message_id": message_id}
        status, _ = await call(client, sandbox, "editMessageText", **edit, text="e0")
        assert status == 429
        clock.advance(1.0)
        assert (await call(client, sandbox, "editMessageText", **edit, text="e1"))[0] == 200
        status, _ = await call(client, sandbox, "editMessageReplyMarkup", **edit, reply_markup={
            "inline_keyboard": [[{"text": "a", "callback_data": "a"}]]
        })  # fmt: skip
        assert status == 429


async def test_flood_control_overall_is_a_sliding_second_without_burst(
    client: httpx.AsyncClient,
) -> None:
    clock = FakeClock()
    async with BotApiSandbox(clock=clock, global_limit=5) as sandbox:
        for chat_id in range(1, 12):
            sandbox.user(chat_id)
        for chat_id in range(1, 4):  # three at t = 0
            assert (await call(client, sandbox, "sendMessage", chat_id=chat_id, text="x"))[0] == 200
        clock.advance(0.6)
        for chat_id in (4, 5):  # two more at t = 0.6: five in the window
            assert (await call(client, sandbox, "sendMessage", chat_id=chat_id, text="x"))[0] == 200
        status, body = await call(client, sandbox, "sendMessage", chat_id=6, text="x")
        assert (status, body["parameters"]["retry_after"]) == (429, 1)
        # At t = 1.0 the first three have left the window, the two of t = 0.6 have not: a
        # token bucket would have refilled by now and let a burst through.
        clock.advance(0.4)
        for chat_id in (6, 7, 8):
            assert (await call(client, sandbox, "sendMessage", chat_id=chat_id, text="x"))[0] == 200
        assert (await call(client, sandbox, "sendMessage", chat_id=9, text="x"))[0] == 429
        assert sandbox.max_sends_in_window(1.0) == 5


async def test_flood_control_groups_get_twenty_a_minute(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    async with BotApiSandbox(clock=clock) as sandbox:
        sandbox.auto_create_chats = True
        for _ in range(20):
            clock.advance(1.0)
            params = {"chat_id": -100, "text": "x"}
            assert (await call(client, sandbox, "sendMessage", **params))[0] == 200
        status, body = await call(client, sandbox, "sendMessage", chat_id=-100, text="x")
        assert (status, body["parameters"]["retry_after"]) == (429, 41)
        clock.advance(41.0)
        assert (await call(client, sandbox, "sendMessage", chat_id=-100, text="x"))[0] == 200


async def test_flood_control_paid_broadcasts_pass_the_thirty(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    async with BotApiSandbox(clock=clock, global_limit=2, paid_limit=4) as sandbox:
        for chat_id in range(1, 7):
            sandbox.user(chat_id)
        for chat_id in (1, 2):
            assert (await call(client, sandbox, "sendMessage", chat_id=chat_id, text="x"))[0] == 200
        assert (await call(client, sandbox, "sendMessage", chat_id=3, text="x"))[0] == 429
        paid = {"text": "x", "allow_paid_broadcast": True}
        assert (await call(client, sandbox, "sendMessage", chat_id=3, **paid))[0] == 200
        assert (await call(client, sandbox, "sendMessage", chat_id=4, **paid))[0] == 200
        assert (await call(client, sandbox, "sendMessage", chat_id=5, **paid))[0] == 429


async def test_flood_control_can_be_disabled(client: httpx.AsyncClient) -> None:
    async with BotApiSandbox(flood_control=False) as sandbox:
        sandbox.user(7)
        for _ in range(10):
            assert (await call(client, sandbox, "sendMessage", chat_id=7, text="x"))[0] == 200


async def test_blocked_user_gives_403_until_unblocked(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    sandbox.block(7)
    status, body = await call(client, sandbox, "sendMessage", chat_id=7, text="x")
    assert (status, body) == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    assert (await call(client, sandbox, "sendChatAction", chat_id=7, action="typing"))[0] == 403
    sandbox.unblock(7)
    assert (await call(client, sandbox, "sendMessage", chat_id=7, text="x"))[0] == 200


async def test_block_with_notify_sends_my_chat_member(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    sandbox.block(7, notify=True)
    _, body = await call(client, sandbox, "getUpdates")
    member = body["result"][0]["my_chat_member"]
    assert member["new_chat_member"]["status"] == "kicked"


# ---------------------------------------------------------------------- updates


async def test_get_updates_offset_limit_and_negative_offset(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7, first_name="Bob", username="bob")
    for text in ("one", "two", "three"):
        await user.send_text(text)
    _, body = await call(client, sandbox, "getUpdates")
    ids = [u["update_id"] for u in body["result"]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u["message"]["text"] for u in body["result"]] == ["one", "two", "three"]
    assert body["result"][0]["message"]["from"]["username"] == "bob"

    _, body = await call(client, sandbox, "getUpdates", offset=ids[1], limit=1)
    assert [u["update_id"] for u in body["result"]] == [ids[1]]
    _, body = await call(client, sandbox, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == ids[1:]  # ids[0] was confirmed

    await user.send_text("four")
    _, body = await call(client, sandbox, "getUpdates", offset=-1)
    assert [u["message"]["text"] for u in body["result"]] == ["four"]
    last = body["result"][0]["update_id"]
    _, body = await call(client, sandbox, "getUpdates", offset=last + 1)
    assert body["result"] == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    started = time.monotonic()
    poll = asyncio.create_task(call(client, sandbox, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await user.send_command("/start", args="ref42")
    status, body = await poll
    assert status == 200 and time.monotonic() - started < 1.0
    message = body["result"][0]["message"]
    assert message["text"] == "/start ref42"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_long_poll_times_out_empty_and_a_second_poll_terminates_the_first(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    assert (await call(client, sandbox, "getUpdates", timeout=1))[1]["result"] == []
    assert 0.9 <= time.monotonic() - started < 2.0
    first = asyncio.create_task(call(client, sandbox, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(call(client, sandbox, "getUpdates", timeout=0))
    status, body = await first
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    assert (await second)[0] == 200


async def test_allowed_updates_filters_new_updates(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    await call(client, sandbox, "getUpdates", allowed_updates=["callback_query"])
    await user.send_text("ignored")
    _, body = await call(client, sandbox, "getUpdates")
    assert body["result"] == []


# ---------------------------------------------------------------------- webhook


class Receiver:
    """A local webhook endpoint recording what it gets; answers from ``statuses`` then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.got = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.got.set()
        return web.Response(status=status)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_webhook_push_with_secret_and_409_for_get_updates(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    async with Receiver() as receiver:
        status, body = await call(
            client, sandbox, "setWebhook", url=receiver.url, secret_token="s3cr3t_-X"
        )
        assert (status, body["result"], body["description"]) == (200, True, "Webhook was set")
        status, body = await call(client, sandbox, "getUpdates")
        assert status == 409
        assert body["description"] == (
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
        await user.send_text("hello")
        await asyncio.wait_for(receiver.got.wait(), 2)
        assert receiver.bodies[0]["message"]["text"] == "hello"
        assert receiver.secrets == ["s3cr3t_-X"]
        assert [d.status for d in sandbox.webhook_deliveries] == [200]
        _, info = await call(client, sandbox, "getWebhookInfo")
        assert info["result"]["url"] == receiver.url
        assert info["result"]["pending_update_count"] == 0
        await sandbox.wait_idle()

        status, body = await call(client, sandbox, "deleteWebhook")
        assert body["description"] == "Webhook was deleted"
        assert (await call(client, sandbox, "getUpdates"))[0] == 200


async def test_webhook_failures_are_retried_in_order_then_kept_pending(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.webhook_backoff = 0.01
    sandbox.webhook_retries = 2
    user = sandbox.user(7)
    async with Receiver(statuses=[500, 502]) as receiver:
        await call(client, sandbox, "setWebhook", url=receiver.url)
        await user.send_text("first")
        await user.send_text("second")
        await sandbox._wait_until(
            lambda: True if len(receiver.bodies) >= 4 else None, 2.0, lambda: "no deliveries"
        )
        assert [d.status for d in sandbox.webhook_deliveries] == [500, 502, 200, 200]
        assert [b["message"]["text"] for b in receiver.bodies] == [
            "first",
            "first",
            "first",
            "second",
        ]
        _, info = await call(client, sandbox, "getWebhookInfo")
        assert info["result"]["last_error_message"].startswith("Wrong response from the webhook")

    # With the receiver gone, every attempt fails and the update stays pending.
    await user.send_text("lost")
    await sandbox._wait_until(
        lambda: True if len(sandbox.webhook_deliveries) >= 7 else None, 2.0, lambda: "no retries"
    )
    assert all(d.error and d.status is None for d in sandbox.webhook_deliveries[4:])
    _, info = await call(client, sandbox, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 1
    await call(client, sandbox, "deleteWebhook")
    _, body = await call(client, sandbox, "getUpdates")
    assert [u["message"]["text"] for u in body["result"]] == ["lost"]


async def test_set_webhook_validates_and_drops_pending(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    await user.send_text("old")
    status, body = await call(client, sandbox, "setWebhook", url="ftp://x")
    assert status == 400
    status, body = await call(
        client, sandbox, "setWebhook", url="http://127.0.0.1:9/x", secret_token="bad secret!"
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    await call(client, sandbox, "setWebhook", url="http://127.0.0.1:9/x", drop_pending_updates=True)
    await call(client, sandbox, "deleteWebhook")
    assert (await call(client, sandbox, "getUpdates"))[1]["result"] == []


# ---------------------------------------------------------------------- files


async def test_multipart_document_upload_is_kept_with_bytes_name_and_type(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    status, body = await call_form(
        client,
        sandbox,
        "sendDocument",
        {"chat_id": "7", "caption": "<i>your plan</i>", "parse_mode": "HTML"},
        {"document": ("plan.ics", ics, "text/calendar")},
    )
    assert status == 200
    document = body["result"]["document"]
    assert document["file_name"] == "plan.ics"
    assert document["mime_type"] == "text/calendar"
    assert document["file_size"] == len(ics)
    assert body["result"]["caption"] == "your plan"
    stored = sandbox.file_of(await user.next_message())
    assert (stored.data, stored.filename, stored.mime_type) == (ics, "plan.ics", "text/calendar")
    # The request log keeps a description, not the bytes.
    logged = sandbox.requests[-1].params["document"]
    assert logged == {"filename": "plan.ics", "mime_type": "text/calendar", "size": len(ics)}

    _, file_body = await call(client, sandbox, "getFile", file_id=document["file_id"])
    path = file_body["result"]["file_path"]
    download = await client.get(f"{sandbox.base_file_url}{sandbox.token}/{path}")
    assert download.status_code == 200 and download.content == ics
    assert (await client.get(f"{sandbox.base_file_url}x:y/{path}")).status_code == 401


async def test_photo_upload_checks_the_image(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    sandbox.user(7)
    image = png(3, 2)
    status, body = await call_form(
        client, sandbox, "sendPhoto", {"chat_id": "7"}, {"photo": ("p.png", image, "image/png")}
    )
    assert status == 200
    (size,) = body["result"]["photo"]
    assert (size["width"], size["height"], size["file_size"]) == (3, 2, len(image))
    assert sandbox.file_of(body["result"]).data == image
    status, body = await call_form(
        client, sandbox, "sendPhoto", {"chat_id": "7"}, {"photo": ("p.png", b"nope", "image/png")}
    )
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")
    # Resending by file_id works; an unknown id does not.
    status, body = await call(client, sandbox, "sendPhoto", chat_id=7, photo="bogus")
    assert status == 400


async def test_user_documents_can_be_downloaded_by_the_bot(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    sent = await user.send_document("leads.csv", b"name\nAcme\n", "text/csv")
    _, body = await call(client, sandbox, "getFile", file_id=sent["document"]["file_id"])
    download = await client.get(
        f"{sandbox.base_file_url}{sandbox.token}/{body['result']['file_path']}"
    )
    assert download.content == b"name\nAcme\n"
    assert download.headers["content-type"].startswith("text/csv")


# ---------------------------------------------------------------------- edits and callbacks


async def test_edit_rules(sandbox: BotApiSandbox, client: httpx.AsyncClient) -> None:
    user = sandbox.user(7)
    markup = keyboard({"text": "Go", "callback_data": "go"})
    _, body = await call(client, sandbox, "sendMessage", chat_id=7, text="hi", reply_markup=markup)
    mid = body["result"]["message_id"]
    status, body = await call(
        client,
        sandbox,
        "editMessageText",
        chat_id=7,
        message_id=mid,
        text="hi",
        reply_markup=markup,
    )
    assert status == 400 and body["description"].startswith(
        "Bad Request: message is not modified: "
    )
    status, body = await call(
        client, sandbox, "editMessageText", chat_id=7, message_id=99, text="x"
    )
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    # Editing the text without reply_markup drops the keyboard, as on Telegram.
    status, body = await call(
        client, sandbox, "editMessageText", chat_id=7, message_id=mid, text="hi"
    )
    assert status == 200 and "reply_markup" not in body["result"] and "edit_date" in body["result"]
    assert sandbox.message(7, mid).history[0]["reply_markup"] == markup
    status, body = await call(
        client, sandbox, "editMessageReplyMarkup", chat_id=7, message_id=mid, reply_markup=markup
    )
    assert status == 200 and user.buttons(mid) == [[("Go", "go")]]
    own = await user.send_text("mine")
    status, body = await call(
        client, sandbox, "editMessageText", chat_id=7, message_id=own["message_id"], text="x"
    )
    assert (status, body["description"]) == (400, "Bad Request: message can't be edited")
    assert (await call(client, sandbox, "deleteMessage", chat_id=7, message_id=mid))[0] == 200
    status, body = await call(client, sandbox, "deleteMessage", chat_id=7, message_id=mid)
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")
    assert user.messages == []
    assert [m.sender for m in sandbox.transcript(7)] == ["bot", "user"]
    assert sandbox.transcript(7)[0].deleted


async def test_a_double_taps_not_modified_is_told_apart_from_a_needless_edit(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(8)
    markup = keyboard({"text": "Go", "callback_data": "go"})
    _, body = await call(client, sandbox, "sendMessage", chat_id=8, text="hi", reply_markup=markup)
    mid = body["result"]["message_id"]
    drop = {"chat_id": 8, "message_id": mid, "reply_markup": {"inline_keyboard": []}}
    # One press, then the bot edits twice the same way: its own mistake.
    await user.send_callback(mid, "go")
    assert (await call(client, sandbox, "editMessageReplyMarkup", **drop))[0] == 200
    assert (await call(client, sandbox, "editMessageReplyMarkup", **drop))[0] == 400
    assert (sandbox.errors_served[400], sandbox.stale_edits_served) == (1, 0)
    # Two presses on the same version (a double tap): the second edit finds it done.
    await call(client, sandbox, "editMessageReplyMarkup", chat_id=8, message_id=mid,
               reply_markup=markup)  # fmt: skip
    await user.send_callback(mid, "go")
    await user.send_callback(mid, "go")
    assert (await call(client, sandbox, "editMessageReplyMarkup", **drop))[0] == 200
    status, body = await call(client, sandbox, "editMessageReplyMarkup", **drop)
    assert status == 400 and "not modified" in body["description"]
    assert (sandbox.errors_served[400], sandbox.stale_edits_served) == (1, 1)


async def test_answer_callback_query_rules(client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    async with BotApiSandbox(clock=clock) as sandbox:
        user = sandbox.user(7)
        markup = keyboard({"text": "Go", "callback_data": "go"})
        _, body = await call(
            client, sandbox, "sendMessage", chat_id=7, text="q", reply_markup=markup
        )
        too_old = (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
        status, reply = await call(client, sandbox, "answerCallbackQuery", callback_query_id="nope")
        assert (status, reply["description"]) == (400, too_old)

        query_id = await user.press(body["result"], "go")
        status, reply = await call(
            client, sandbox, "answerCallbackQuery", callback_query_id=query_id, text="x" * 201
        )
        assert status == 400
        status, _ = await call(
            client, sandbox, "answerCallbackQuery", callback_query_id=query_id, text="Saved"
        )
        assert status == 200
        assert (await user.wait_for_answer(query_id)).answer == {"text": "Saved"}
        status, reply = await call(
            client, sandbox, "answerCallbackQuery", callback_query_id=query_id
        )
        assert (status, reply["description"]) == (400, too_old)

        late = await user.press(body["result"]["message_id"], (0, 0))
        clock.advance(sandbox.callback_query_ttl + 1)
        status, reply = await call(client, sandbox, "answerCallbackQuery", callback_query_id=late)
        assert (status, reply["description"]) == (400, too_old)

        _, updates = await call(client, sandbox, "getUpdates")
        query = updates["result"][0]["callback_query"]
        assert (
            query["data"] == "go" and query["message"]["message_id"] == body["result"]["message_id"]
        )


async def test_pressing_a_missing_button_and_waiting_in_vain_explain_themselves(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    markup = keyboard({"text": "Go", "callback_data": "go"})
    _, body = await call(client, sandbox, "sendMessage", chat_id=7, text="q", reply_markup=markup)
    with pytest.raises(LookupError, match=r"no button 'Stop'.*\('Go', 'go'\)"):
        await user.press(body["result"], "Stop")
    with pytest.raises(LookupError):
        await user.press(body["result"], (1, 0))
    # A button from before an edit can still be pressed (a client may not have seen the edit).
    await call(client, sandbox, "editMessageText", chat_id=7, message_id=1, text="q2")
    assert await user.press(1, "go")
    with pytest.raises(LookupError):
        await user.press(1, "go", allow_stale=False)
    assert "from an older keyboard" in user.transcript()
    assert (await user.next_message())["text"] == "q2"
    with pytest.raises(TimeoutError, match=r"(?s)transcript tail:.*bot edited #1: q2"):
        await user.next_message(timeout=0.05)


async def test_commands_are_stored_per_scope_and_language(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    commands = [{"command": "start", "description": "Begin"}]
    ru = [{"command": "start", "description": "Начать"}]
    assert (await call(client, sandbox, "setMyCommands", commands=commands))[0] == 200
    scope = {"type": "all_private_chats"}
    await call(client, sandbox, "setMyCommands", commands=ru, scope=scope, language_code="ru")
    assert (await call(client, sandbox, "getMyCommands"))[1]["result"] == commands
    got = await call(client, sandbox, "getMyCommands", scope=scope, language_code="ru")
    assert got[1]["result"] == ru
    assert (await call(client, sandbox, "getMyCommands", scope=scope))[1]["result"] == []
    await call(client, sandbox, "deleteMyCommands")
    assert (await call(client, sandbox, "getMyCommands"))[1]["result"] == []
    bad = [{"command": "Start!", "description": "x"}]
    status, body = await call(client, sandbox, "setMyCommands", commands=bad)
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")


# ---------------------------------------------------------------------- faults


async def test_injected_faults_are_served_and_recorded(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    user = sandbox.user(7)
    sandbox.flood_control = False
    sandbox.inject_faults(1.0, kinds=("5xx",), seed=1)
    status, body = await call(client, sandbox, "sendMessage", chat_id=7, text="x")
    assert (status, body["description"]) == (502, "Bad Gateway")
    sandbox.inject_faults(1.0, kinds=("429",), seed=1, retry_after=3)
    status, body = await call(client, sandbox, "sendMessage", chat_id=7, text="x")
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    sandbox.inject_faults(1.0, kinds=("drop",), seed=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await call(client, sandbox, "sendMessage", chat_id=7, text="x")
    assert user.messages == []
    sandbox.inject_faults(1.0, kinds=("drop_after",), seed=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await call(client, sandbox, "sendMessage", chat_id=7, text="stored")
    assert [m["text"] for m in user.messages] == ["stored"]
    # getMe is not a send and is never faulted by default.
    assert (await call(client, sandbox, "getMe"))[0] == 200
    assert [f.kind for f in sandbox.faults] == ["5xx", "429", "drop", "drop_after"]
    assert sandbox.errors_served == {502: 1, 429: 1}
    assert [r.status for r in sandbox.requests if r.method == "sendMessage"] == [502, 429, 0, 0]

    sandbox.clear_faults()
    sandbox.inject_faults(0.5, kinds=("5xx",), seed=42)
    statuses = [
        (await call(client, sandbox, "sendMessage", chat_id=7, text="x"))[0] for _ in range(40)
    ]
    assert 5 < statuses.count(502) < 35 and statuses.count(200) == 40 - statuses.count(502)


async def test_delayed_response_times_out_but_the_message_is_stored(
    sandbox: BotApiSandbox,
) -> None:
    user = sandbox.user(7)
    sandbox.delay_responses(0.5, count=1)
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await call(impatient, sandbox, "sendMessage", chat_id=7, text="late")
    assert (await user.next_message(timeout=1.0))["text"] == "late"
    assert [f.kind for f in sandbox.faults] == ["delay"]


async def test_log_out_makes_the_token_unauthorized(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    assert (await call(client, sandbox, "logOut"))[1]["result"] is True
    assert (await call(client, sandbox, "getMe"))[0] == 401


def test_a_missing_spec_stops_the_sandbox_loudly(tmp_path: Path) -> None:
    with pytest.raises(SpecMissingError, match="missing.json"):
        BotApiSandbox(api_spec_path=str(tmp_path / "missing.json"))


def test_the_repository_carries_its_own_spec_and_licence() -> None:
    assert SPEC_PATH.is_file() and (SPEC_PATH.parent / "LICENSE").is_file()
    # Inside the package, so a fresh clone and an installed wheel both check every call.
    assert SPEC_PATH.resolve().is_relative_to(Path(bot.sandbox.__file__).resolve().parent)


# ---------------------------------------------------------------------- spec conformance


def _value_problems(spec: dict[str, Any], value: Any, type_name: str, path: str) -> list[str]:
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{path}: expected {type_name}"]
        inner = type_name[len("Array of ") :]
        return [
            problem
            for i, item in enumerate(value)
            for problem in _value_problems(spec, item, inner, f"{path}[{i}]")
        ]
    checks = {
        "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "String": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "True": lambda v: v is True,
        "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    if type_name in checks:
        return [] if checks[type_name](value) else [f"{path}: {value!r} is not {type_name}"]
    if type_name not in spec["types"]:
        return [f"{path}: unknown type {type_name}"]
    return _object_problems(spec, value, type_name, path)


def _object_problems(spec: dict[str, Any], obj: Any, type_name: str, path: str) -> list[str]:
    """Every key must be a field of the type (recursively) and every required field present."""
    type_spec = spec["types"][type_name]
    if type_spec.get("subtypes"):
        candidates = [_object_problems(spec, obj, sub, path) for sub in type_spec["subtypes"]]
        return min(candidates, key=len)
    if not isinstance(obj, dict):
        return [f"{path}: expected a {type_name} object"]
    fields = {f["name"]: f for f in type_spec.get("fields", [])}
    problems = [f"{path}.{key} is not a field of {type_name}" for key in obj if key not in fields]
    problems += [
        f"{path}: {type_name} lacks required {name}"
        for name, f in fields.items()
        if f["required"] and name not in obj
    ]
    for key, value in obj.items():
        if key in fields:
            options = [
                _value_problems(spec, value, t, f"{path}.{key}") for t in fields[key]["types"]
            ]
            best: list[str] = min(options, key=len)
            problems += best
    return problems


def conformance_problems(spec: dict[str, Any], method: str, result: Any) -> list[str]:
    """Problems of a method's result against the spec's declared return types."""
    returns = spec["methods"][method]["returns"]
    options = [_value_problems(spec, result, t, method) for t in returns]
    return min(options, key=len)


def test_every_implemented_method_is_in_the_spec() -> None:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    missing = BotApiSandbox.IMPLEMENTED_METHODS - set(spec["methods"])
    assert not missing


async def test_every_returned_object_conforms_to_the_spec(
    sandbox: BotApiSandbox, client: httpx.AsyncClient
) -> None:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    sandbox.flood_control = False
    user = sandbox.user(7, first_name="Ann", username="ann", language_code="de")
    user.last_name = "Lee"
    results: list[tuple[str, Any]] = []

    async def record(method: str, **params: Any) -> Any:
        status, body = await call(client, sandbox, method, **params)
        assert status == 200, body
        assert set(body) <= {"ok", "result", "description"}
        results.append((method, body["result"]))
        return body["result"]

    markup = keyboard(
        {"text": "Go", "callback_data": "go"}, {"text": "Site", "url": "https://example.org"}
    )
    await record("getMe")
    await record("setMyCommands", commands=[{"command": "start", "description": "Begin"}])
    await record("getMyCommands")
    await record("setMyDescription", description="A coach")
    await record("getMyDescription")
    await record("setMyShortDescription", short_description="Coach")
    await record("getMyShortDescription")
    await record("getWebhookInfo")
    await user.send_command("/start")
    await user.send_document("a.csv", b"x,y\n", "text/csv", caption="leads")
    sent = await record(
        "sendMessage",
        chat_id=7,
        text='<b>Hi</b> <a href="https://example.org">link</a> <pre><code class="language-py">x'
        "</code></pre>",
        parse_mode="HTML",
        reply_markup=markup,
    )
    await record("sendMessage", chat_id=7, text="reply", reply_parameters={"message_id": 1})
    await user.press(sent, "Go")
    updates = await record("getUpdates")
    assert {next(k for k in u if k != "update_id") for u in updates} == {
        "message",
        "callback_query",
    }
    await record("answerCallbackQuery", callback_query_id=updates[-1]["callback_query"]["id"])
    await record("editMessageText", chat_id=7, message_id=sent["message_id"], text="edited")
    await record(
        "editMessageReplyMarkup", chat_id=7, message_id=sent["message_id"], reply_markup=markup
    )
    await record("sendChatAction", chat_id=7, action="upload_document")
    files = {"document": ("r.ics", b"BEGIN:VCALENDAR", "text/calendar")}
    status, body = await call_form(
        client, sandbox, "sendDocument", {"chat_id": "7", "caption": "cal"}, files
    )
    results.append(("sendDocument", body["result"]))
    photo = {"photo": ("p.png", png(2, 2), "image/png")}
    status, body = await call_form(client, sandbox, "sendPhoto", {"chat_id": "7"}, photo)
    results.append(("sendPhoto", body["result"]))
    await record(
        "editMessageCaption", chat_id=7, message_id=body["result"]["message_id"], caption="new"
    )
    await record("getFile", file_id=body["result"]["photo"][0]["file_id"])
    await record("deleteMessage", chat_id=7, message_id=sent["message_id"])
    await record("setWebhook", url="http://127.0.0.1:9/never", secret_token="abc")
    await record("getWebhookInfo")
    await record("deleteWebhook")
    await record("deleteMyCommands")
    await record("close")

    problems = [p for method, result in results for p in conformance_problems(spec, method, result)]
    assert problems == []
    # The check itself catches a stray key.
    bad = dict(results[0][1], nickname="x")
    assert conformance_problems(spec, "getMe", bad) == ["getMe.nickname is not a field of User"]
    covered = {method for method, _ in results}
    assert covered >= BotApiSandbox.IMPLEMENTED_METHODS - {"logOut"}
