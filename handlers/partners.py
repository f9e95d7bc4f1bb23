"""/partner (/partenaire): invite an accountability partner, choose what they see, end it; the
partner's side (accept, mute, react, leave) and the partner messages the outbox sends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from bot.db.models import OutboxMessage, PartnerLevel, PartnerLink, User
from bot.delivery.outgoing import Outgoing, ScheduledKind
from bot.i18n import LANGUAGES, label, render
from bot.services import accounts, onboarding, partner_digest, partners, schedules
from bot.services.partners import PartnerError, Sharing
from bot.services.preferences import zone
from handlers import callback_data as cb
from handlers.common import Keyboard, Turn, drop_keyboard, edit_or_reply, reply, user_turn

FEATURE = "ptn"
# Longest digest text kept well under Telegram's 4,096 characters (entities take room too).
MAX_DIGEST_CHARS = 3900
LEVEL_CODES = ("n", "t", "p")


def _button(lang: str, which: str, **values: object) -> str:
    return label("partners/button", lang, which=which, **values)


def _this_monday(user: User, now: datetime) -> date:
    today = now.astimezone(zone(user.timezone)).date()
    return today - timedelta(days=today.weekday())


def _two(arg: str) -> tuple[int, str] | None:
    """'<link id>.<code>' from button data; None when it is not that shape."""
    first, _, second = arg.partition(".")
    return (int(first), second) if first.isdecimal() and second else None


# ---------------------------------------------------------------------------- owner: /partner


async def menu(turn: Turn) -> tuple[str, Keyboard]:
    """The owner's partners, the owners this user follows, and what can be done."""
    mine = await partners.partners_of(turn.session, turn.user.id)
    followed = await partners.owners_of(turn.session, turn.user.id)
    room = await partners.room_left(turn.session, turn.user, turn.now)
    text = render(
        "partners/menu",
        turn.lang,
        partners=[(user.first_name, Sharing.of(link)) for link, user in mine],
        owners=[(user.first_name, link.muted) for link, user in followed],
        room=room,
        max_partners=partners.MAX_PARTNERS,
    )
    rows: list[list[tuple[str, str]]] = [
        [(_button(turn.lang, "open", name=user.first_name), cb.pack(FEATURE, "open", link.id))]
        for link, user in mine
    ]
    if room > 0:
        rows.append([(_button(turn.lang, "invite"), cb.pack(FEATURE, "new"))])
    for link, user in followed:
        rows.append(
            [
                (
                    _button(turn.lang, "unmute" if link.muted else "mute", name=user.first_name),
                    cb.pack(FEATURE, "mute", link.id),
                ),
                (
                    _button(turn.lang, "leave", name=user.first_name),
                    cb.pack(FEATURE, "leave", link.id),
                ),
            ]
        )
    return text, rows


async def cmd_partner(update: Update, context: BotContext) -> None:
    """Shows the partners and the invite button."""
    async with user_turn(update, context) as turn:
        text, rows = await menu(turn)
    await reply(update, text, rows)


def choose_level(lang: str) -> tuple[str, Keyboard]:
    rows = [
        [(_button(lang, f"level_{code}"), cb.pack(FEATURE, "lvl", code))] for code in LEVEL_CODES
    ]
    rows.append([(_button(lang, "back"), cb.pack(FEATURE, "menu"))])
    return render("partners/choose_level", lang), rows


async def _sample(turn: Turn, sharing: Sharing) -> partner_digest.OwnerWeek:
    """The owner's week so far, cut exactly as a partner at `sharing` would get it."""
    monday = _this_monday(turn.user, turn.now) + timedelta(days=7)
    return await partner_digest.owner_week(turn.session, turn.user, 0, sharing, monday)


def _client_toggle(lang: str, sharing: Sharing, action: str, prefix: str) -> list[tuple[str, str]]:
    code = "p" if sharing.show_clients else "pc"
    which = "hide_clients" if sharing.show_clients else "show_clients"
    return [(_button(lang, which), cb.pack(FEATURE, action, prefix + code))]


async def preview_invite(turn: Turn, sharing: Sharing) -> tuple[str, Keyboard]:
    """What a partner would see, before any link exists."""
    week = await _sample(turn, sharing)
    text = render("partners/preview", turn.lang, week=week, sharing=sharing, name=None)
    rows: list[list[tuple[str, str]]] = []
    if sharing.pipeline:
        rows.append(_client_toggle(turn.lang, sharing, "lvl", ""))
    rows.append([(_button(turn.lang, "create"), cb.pack(FEATURE, "inv", sharing.code))])
    rows.append([(_button(turn.lang, "back"), cb.pack(FEATURE, "new"))])
    return text, rows


async def invite_link(turn: Turn, sharing: Sharing, bot_username: str) -> str:
    try:
        token = await partners.create_invite(turn.session, turn.user, sharing, turn.now)
    except PartnerError:
        return render("partners/invite_invalid", turn.lang, code="limit", name="")
    link = f"https://t.me/{bot_username}?start={partners.START_PREFIX}{token}"
    expires = (turn.now + partners.INVITE_TTL).astimezone(zone(turn.user.timezone))
    return render("partners/invite_link", turn.lang, link=link, expires=expires, sharing=sharing)


async def link_settings(turn: Turn, link: PartnerLink) -> tuple[str, Keyboard]:
    """One partner: what they see, the goal notices, change and end."""
    partner = await turn.session.get(User, link.partner_id)
    name = partner.first_name if partner else ""
    goal = await partners.active_goal(turn.session, turn.user.id)
    sharing = Sharing.of(link)
    text = render(
        "partners/link",
        turn.lang,
        name=name,
        sharing=sharing,
        has_goal=goal is not None,
        notify_reached=link.notify_reached,
        notify_missed=link.notify_missed,
    )
    rows: list[list[tuple[str, str]]] = [
        [
            (
                _button(turn.lang, f"level_{code}", current=sharing.level.value[0] == code),
                cb.pack(FEATURE, "chg", f"{link.id}.{code}"),
            )
        ]
        for code in LEVEL_CODES
    ]
    if goal is not None:
        rows.append(
            [
                (
                    _button(turn.lang, "notify_reached", on=link.notify_reached),
                    cb.pack(FEATURE, "nr", link.id),
                ),
                (
                    _button(turn.lang, "notify_missed", on=link.notify_missed),
                    cb.pack(FEATURE, "nm", link.id),
                ),
            ]
        )
    rows.append([(_button(turn.lang, "revoke"), cb.pack(FEATURE, "rev", link.id))])
    rows.append([(_button(turn.lang, "back"), cb.pack(FEATURE, "menu"))])
    return text, rows


async def preview_change(turn: Turn, link: PartnerLink, sharing: Sharing) -> tuple[str, Keyboard]:
    partner = await turn.session.get(User, link.partner_id)
    week = await _sample(turn, sharing)
    name = partner.first_name if partner else ""
    text = render("partners/preview", turn.lang, week=week, sharing=sharing, name=name)
    rows: list[list[tuple[str, str]]] = []
    if sharing.pipeline:
        rows.append(_client_toggle(turn.lang, sharing, "chg", f"{link.id}."))
    rows.append(
        [(_button(turn.lang, "share"), cb.pack(FEATURE, "set", f"{link.id}.{sharing.code}"))]
    )
    rows.append([(_button(turn.lang, "back"), cb.pack(FEATURE, "open", link.id))])
    return text, rows


# ---------------------------------------------------------------------------- partner: the link


async def on_invite_start(update: Update, context: BotContext) -> bool:
    """`/start p_<token>`: the invitation (True when this /start was an invite link)."""
    args = context.args or []
    token = partners.token_from_start(args[0]) if args else None
    if token is None and not (args and args[0].startswith(partners.START_PREFIX)):
        return False
    async with user_turn(update, context) as turn:
        # Back after blocking the bot: reachable again, as any /start makes them.
        if accounts.reactivate(turn.user, turn.now) and onboarding.is_onboarded(turn.user):
            await schedules.sync(turn.session, turn.user, turn.now)
        text, rows = await invitation(turn, token or "")
    await reply(update, text, rows)
    return True


async def invitation(turn: Turn, token: str) -> tuple[str, Keyboard]:
    try:
        invite, owner = await partners.check_invite(turn.session, token, turn.user, turn.now)
    except PartnerError as error:
        return render("partners/invite_invalid", turn.lang, code=error.code, name=""), []
    sharing = Sharing.of(invite)
    expires = invite.expires_at.astimezone(zone(turn.user.timezone))
    text = render(
        "partners/invitation", turn.lang, name=owner.first_name, sharing=sharing, expires=expires
    )
    other = next(code for code in LANGUAGES if code != turn.lang)
    rows = [
        [
            (_button(turn.lang, "accept"), cb.pack(FEATURE, "acc", token)),
            (_button(turn.lang, "decline"), cb.pack(FEATURE, "dec", token)),
        ],
        [
            (
                label(f"buttons/language_{other}", turn.lang),
                cb.pack(FEATURE, "lang", f"{other}{token}"),
            )
        ],
    ]
    return text, rows


# ---------------------------------------------------------------------------- buttons


async def on_button(update: Update, context: BotContext) -> None:
    """Every partner button, re-checked against who pressed it."""
    query = update.callback_query
    assert query is not None
    parsed = cb.parse(query.data)
    toast: str | None = None
    text: str | None = None
    rows: Keyboard = []
    new_message = False
    async with user_turn(update, context) as turn:
        stale = label("buttons/stale_question", turn.lang)
        action, arg = (parsed.action, parsed.arg) if parsed else ("", "")
        if action == "menu":
            text, rows = await menu(turn)
        elif action == "new":
            text, rows = choose_level(turn.lang)
        elif action == "lvl" and (sharing := Sharing.from_code(arg)) is not None:
            text, rows = await preview_invite(turn, sharing)
        elif action == "inv" and (sharing := Sharing.from_code(arg)) is not None:
            text = await invite_link(turn, sharing, context.bot.username)
        elif action == "open" and arg.isdecimal():
            link = await partners.owned_link(turn.session, turn.user, int(arg))
            if link is None:
                toast = stale
            else:
                text, rows = await link_settings(turn, link)
        elif action in ("chg", "set") and (pair := _two(arg)) is not None:
            link = await partners.owned_link(turn.session, turn.user, pair[0])
            sharing = Sharing.from_code(pair[1])
            if link is None or sharing is None:
                toast = stale
            elif action == "chg":
                text, rows = await preview_change(turn, link, sharing)
            else:
                await partners.set_sharing(turn.session, turn.user, link.id, sharing, turn.now)
                text, rows = await link_settings(turn, link)
                text = render("partners/saved", turn.lang) + "\n\n" + text
        elif action in ("nr", "nm") and arg.isdecimal():
            event = partners.REACHED if action == "nr" else partners.MISSED
            link = await partners.toggle_notice(turn.session, turn.user, int(arg), event, turn.now)
            if link is None:
                toast = stale
            else:
                text, rows = await link_settings(turn, link)
        elif action == "rev" and arg.isdecimal():
            link = await partners.owned_link(turn.session, turn.user, int(arg))
            if link is None:
                toast = stale
            else:
                partner = await turn.session.get(User, link.partner_id)
                text = render(
                    "partners/revoke_confirm", turn.lang, name=partner.first_name if partner else ""
                )
                rows = [
                    [(_button(turn.lang, "revoke_yes"), cb.pack(FEATURE, "end", link.id))],
                    [(_button(turn.lang, "back"), cb.pack(FEATURE, "open", link.id))],
                ]
        elif action == "end" and arg.isdecimal():
            partner = await partners.revoke(turn.session, turn.user, int(arg), turn.now)
            if partner is None:
                toast = stale
            else:
                text = render("partners/revoked", turn.lang, name=partner.first_name)
        elif action in ("acc", "dec", "lang"):
            # A refused invite is a new message: the invitation it answers may read the same.
            text, rows, toast, new_message = await _invitation_button(turn, action, arg)
        elif action == "mute" and arg.isdecimal():
            link = await partners.toggle_mute(turn.session, turn.user, int(arg), turn.now)
            if link is None:
                toast = stale
            else:
                text, rows = await menu(turn)
        elif action == "leave" and arg.isdecimal():
            owner = await partners.leave(turn.session, turn.user, int(arg), turn.now)
            if owner is None:
                toast = stale
            else:
                text, rows = await menu(turn)
                text = render("partners/left", turn.lang, name=owner.first_name) + "\n\n" + text
        elif action == "pick" and arg.isdecimal():
            link = await partners.followed_link(turn.session, turn.user, int(arg))
            owner = await turn.session.get(User, link.owner_id) if link else None
            if link is None or owner is None:
                toast = stale
            else:
                text = render("partners/react_pick", turn.lang, name=owner.first_name)
                rows = reaction_rows(turn.lang, link.id)
                new_message = True
        elif action == "r" and (pair := _two(arg)) is not None:
            owner = await partners.react(turn.session, turn.user, pair[0], pair[1], turn.now)
            if owner is None:
                toast = stale
            else:
                toast = label("partners/reaction_sent", turn.lang, name=owner.first_name)
        else:
            toast = stale
    await query.answer(toast)
    if text is not None and new_message:
        await drop_keyboard(update)
        await reply(update, text, rows)
    elif text is not None:
        await edit_or_reply(update, text, rows)
    elif toast is not None and action != "r":
        await drop_keyboard(update)


async def _invitation_button(
    turn: Turn, action: str, arg: str
) -> tuple[str | None, Keyboard, str | None, bool]:
    """(text, buttons, toast, whether the text is a new message) for Accept, No and language."""
    if action == "lang":
        code, token = arg[:2], arg[2:]
        if code not in LANGUAGES:
            return None, [], label("buttons/stale_question", turn.lang), False
        turn.user.language, turn.user.updated_at = code, turn.now
        text, rows = await invitation(turn, token)
        return text, rows, None, False
    if action == "dec":
        return render("partners/declined", turn.lang), [], None, False
    try:
        link, owner = await partners.accept(turn.session, arg, turn.user, turn.now)
    except PartnerError as error:
        text = render("partners/invite_invalid", turn.lang, code=error.code, name="")
        return text, [], None, True
    await partners.tell(
        turn.session, owner.id, turn.user.first_name, partners.JOINED, link.id, turn.now
    )
    text = render("partners/accepted", turn.lang, name=owner.first_name, sharing=Sharing.of(link))
    return text, [], None, False


def reaction_rows(lang: str, link_id: int) -> Keyboard:
    return [
        [
            (_button(lang, f"react_{code}"), cb.pack(FEATURE, "r", f"{link_id}.{code}"))
            for code in partners.REACTIONS
        ]
    ]


# ---------------------------------------------------------------------------- scheduled


async def compose_digest(
    session: AsyncSession, row: OutboxMessage, partner: User, now: datetime
) -> Outgoing | None:
    """Monday's digest: one owner in full, or every owner of a coach in one message."""
    monday = date.fromisoformat(row.payload["monday"])
    weeks: list[tuple[PartnerLink, partner_digest.OwnerWeek]] = []
    for link, owner in await partners.owners_of(session, partner.id):
        paused = owner.paused_until is not None and owner.paused_until >= monday
        if link.muted or not partners.reachable(owner) or owner.onboarded_at is None or paused:
            continue  # a paused owner has no review that week: nothing to share either
        week = await partner_digest.owner_week(session, owner, link.id, Sharing.of(link), monday)
        weeks.append((link, week))
    if not weeks:
        return None
    row.payload = {
        "monday": monday.isoformat(),
        "shares": [[link.id, link.owner_id, link.level, link.show_clients] for link, _ in weeks],
    }
    lang = partner.language
    if len(weeks) == 1:
        link, week = weeks[0]
        text = render("partners/digest_one", lang, week=week, sharing=Sharing.of(link))
        return Outgoing(text, reaction_rows(lang, link.id))
    items = [(week, Sharing.of(link)) for link, week in weeks]
    text = render("partners/digest_many", lang, items=items, first=weeks[0][1].week_first)
    if len(text) > MAX_DIGEST_CHARS:  # a coach with very many owners: numbers only
        text = render(
            "partners/digest_many", lang, items=items, first=weeks[0][1].week_first, brief=True
        )
    buttons = [
        (_button(lang, "pick", name=week.name), cb.pack(FEATURE, "pick", link.id))
        for link, week in weeks
    ]
    return Outgoing(text, [buttons[i : i + 3] for i in range(0, len(buttons), 3)])


async def after_digest(
    session: AsyncSession, row: OutboxMessage, partner: User, message_id: int, now: datetime
) -> None:
    """Keep a record of what each owner shared (their export shows it), then only that."""
    monday = date.fromisoformat(row.payload["monday"])
    for _link_id, owner_id, level, show_clients in row.payload.get("shares", []):
        sharing = Sharing(
            PartnerLevel(level), bool(show_clients) and level == PartnerLevel.PIPELINE
        )
        await partners.record_share(
            session, owner_id=owner_id, partner_id=partner.id, kind="digest", week=monday,
            sharing=sharing, now=now,
        )  # fmt: skip


async def compose_goal(
    session: AsyncSession, row: OutboxMessage, partner: User, now: datetime
) -> Outgoing | None:
    """A goal notice the owner asked for, checked again when due."""
    link = await partners.get_link(session, int(row.payload["link"]))
    if link is None or link.partner_id != partner.id:
        return None
    owner = await session.get(User, link.owner_id)
    if owner is None or not partners.reachable(owner):
        return None
    event, monday = row.payload["event"], date.fromisoformat(row.payload["monday"])
    if event == partners.REACHED and link.notify_reached:
        goal = await partners.active_goal(session, owner.id)
        target = goal.weekly_contacts if goal else None
    elif event == partners.MISSED and link.notify_missed:
        target = await partner_digest.missed(session, owner, monday)
    else:
        return None
    if target is None:
        return None
    row.payload = {**row.payload, "owner": owner.id, "level": link.level}
    text = render(f"partners/goal_{event}", partner.language, name=owner.first_name, target=target)
    return Outgoing(text, reaction_rows(partner.language, link.id))


async def after_goal(
    session: AsyncSession, row: OutboxMessage, partner: User, message_id: int, now: datetime
) -> None:
    await partners.record_share(
        session, owner_id=int(row.payload["owner"]), partner_id=partner.id,
        kind=f"goal_{row.payload['event']}", week=date.fromisoformat(row.payload["monday"]),
        sharing=Sharing(PartnerLevel(row.payload["level"])), now=now,
    )  # fmt: skip


async def compose_reaction(
    session: AsyncSession, row: OutboxMessage, owner: User, now: datetime
) -> Outgoing | None:
    """A partner's one-tap reaction, to the owner."""
    link = await partners.get_link(session, int(row.payload["link"]))
    if link is None or link.owner_id != owner.id:
        return None
    partner = await session.get(User, link.partner_id)
    if partner is None or not partners.reachable(partner):
        return None
    text = render(
        "partners/reaction",
        owner.language,
        name=partner.first_name,
        reaction=row.payload["reaction"],
    )
    return Outgoing(text)


async def compose_notice(
    session: AsyncSession, row: OutboxMessage, user: User, now: datetime
) -> Outgoing | None:
    """Someone joined, or access ended: told to the other side."""
    if "why" not in row.payload:
        return None
    text = render(
        "partners/notice", user.language, name=row.payload["name"], why=row.payload["why"]
    )
    return Outgoing(text)


async def after_notice(
    session: AsyncSession, row: OutboxMessage, user: User, message_id: int, now: datetime
) -> None:
    row.payload = {}  # the other side's name is not kept once told


def scheduled_kinds() -> dict[str, ScheduledKind]:
    return {
        partners.DIGEST_KIND: ScheduledKind(compose_digest, after_digest),
        partners.GOAL_KIND: ScheduledKind(compose_goal, after_goal),
        partners.REACTION_KIND: ScheduledKind(compose_reaction),
        partners.NOTICE_KIND: ScheduledKind(compose_notice, after_notice),
    }


# ---------------------------------------------------------------------------- /privacy


async def privacy_note(turn: Turn) -> str:
    """The partner lines of /privacy ("" when this user has no partner and follows nobody)."""
    mine = await partners.partners_of(turn.session, turn.user.id)
    followed = await partners.owners_of(turn.session, turn.user.id)
    if not mine and not followed:
        return ""
    return "\n\n" + render(
        "partners/privacy",
        turn.lang,
        partners=[(user.first_name, Sharing.of(link)) for link, user in mine],
        owners=[(user.first_name, Sharing.of(link)) for link, user in followed],
    )


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler(["partner", "partenaire"], cmd_partner),
        CallbackQueryHandler(on_button, pattern=cb.pattern(FEATURE)),
    ]
