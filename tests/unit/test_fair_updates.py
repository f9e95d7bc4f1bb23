"""Each owner's updates run in order, one at a time; owners take turns; only a flood is shed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, Update, User

from bot.fair_updates import FairUpdateProcessor, Shed

SENT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def text_update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "Owner", is_bot=False, language_code="fr")
    chat = Chat(user_id, Chat.PRIVATE)
    message = Message(update_id, date=SENT, chat=chat, from_user=user, text="hello")
    return Update(update_id, message=message)


async def test_a_flooder_waits_in_order_while_others_go_first_and_only_the_excess_is_shed() -> (
    None
):
    told: list[Shed] = []

    async def on_shed(shed: Shed) -> None:
        told.append(shed)

    processor = FairUpdateProcessor(max_concurrent_updates=16, max_waiting=3, on_shed=on_shed)
    release = asyncio.Event()
    ran: list[tuple[int, int]] = []
    running_for: dict[int, int] = {}

    async def handle(update_id: int, user_id: int) -> None:
        running_for[user_id] = running_for.get(user_id, 0) + 1
        assert running_for[user_id] == 1, "one owner's updates never overlap"
        if user_id == 1:
            await release.wait()
        ran.append((user_id, update_id))
        running_for[user_id] -= 1

    def submit(update_id: int, user_id: int) -> asyncio.Task[Any]:
        update = text_update(update_id, user_id)
        return asyncio.create_task(processor.process_update(update, handle(update_id, user_id)))

    flood = [submit(i, 1) for i in range(1, 11)]  # ten at once from owner 1
    await asyncio.sleep(0)
    other = submit(100, 2)
    await asyncio.wait_for(other, 1)
    assert ran == [(2, 100)]  # owner 2 did not wait for the flood
    assert processor.backlog(1) == 4  # one running, three waiting

    release.set()
    await asyncio.gather(*flood)
    await processor.shutdown()
    assert [u for owner, u in ran if owner == 1] == [1, 2, 3, 4]  # in order
    assert processor.backlog(1) == 0
    [shed] = told  # one line for the six beyond the threshold, once the queue drained
    assert (shed.chat_id, shed.skipped, shed.language_code) == (1, 6, "fr")
    assert shed.first == shed.last == SENT


async def test_owners_take_turns_for_a_single_slot() -> None:
    processor = FairUpdateProcessor(max_concurrent_updates=1)
    ran: list[tuple[int, int]] = []

    async def handle(owner: int, n: int) -> None:
        await asyncio.sleep(0)
        ran.append((owner, n))

    tasks = [
        asyncio.create_task(processor.process_update(text_update(n, 1), handle(1, n)))
        for n in range(5)
    ]
    await asyncio.sleep(0)
    tasks += [
        asyncio.create_task(processor.process_update(text_update(10 + n, 2), handle(2, n)))
        for n in range(2)
    ]
    await asyncio.gather(*tasks)
    # Owner 2 arrived as owner 1's second update began (four still waiting), and from then on
    # is served every other turn rather than after all of them.
    assert [owner for owner, _ in ran] == [1, 1, 2, 1, 2, 1, 1]


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=60),
    slots=st.integers(min_value=1, max_value=4),
)
def test_everything_below_the_threshold_runs_once_in_order(arrivals: list[int], slots: int) -> None:
    async def scenario() -> None:
        processor = FairUpdateProcessor(max_concurrent_updates=slots, max_waiting=100)
        ran: dict[int, list[int]] = {}
        running: set[int] = set()

        async def handle(owner: int, n: int) -> None:
            assert owner not in running
            running.add(owner)
            await asyncio.sleep(0)
            running.discard(owner)
            ran.setdefault(owner, []).append(n)

        tasks = [
            asyncio.create_task(processor.process_update(text_update(n, owner), handle(owner, n)))
            for n, owner in enumerate(arrivals)
        ]
        await asyncio.gather(*tasks)
        for owner in set(arrivals):
            assert ran[owner] == [n for n, o in enumerate(arrivals) if o == owner]
            assert processor.backlog(owner) == 0

    asyncio.run(scenario())


async def test_a_cancelled_waiting_update_gives_its_place_back() -> None:
    processor = FairUpdateProcessor(max_concurrent_updates=1)
    gate = asyncio.Event()
    ran: list[int] = []

    async def handle(n: int) -> None:
        if n == 0:
            await gate.wait()
        ran.append(n)

    first = asyncio.create_task(processor.process_update(text_update(0, 1), handle(0)))
    second = asyncio.create_task(processor.process_update(text_update(1, 2), handle(1)))
    third = asyncio.create_task(processor.process_update(text_update(2, 3), handle(2)))
    await asyncio.sleep(0)
    second.cancel()
    gate.set()
    await asyncio.gather(first, third, second, return_exceptions=True)
    assert ran == [0, 2] and processor.backlog(2) == 0
