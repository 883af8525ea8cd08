"""Which handlers the Telegram application has, in which group and order (PTB tries group 0's in order
and stops at the first that matches): the flood guard first, then dialogues, commands, messages, buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram import ask, browse, handoff, match
from bot.telegram.admin import admin_handlers

_NEW_TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
_PRIVATE, _GROUPS = filters.ChatType.PRIVATE, filters.ChatType.GROUPS


def add_handlers(application: Application, admin_ids: frozenset[int], staff_chat_id: int | None = None) -> None:
    """Group -1 guards against floods before anything else; group 0 holds, in this order: the dialogues
    that own the next message, the commands, plain messages, then the buttons."""
    application.add_handler(TypeHandler(Update, ask.flood_guard), group=-1)
    application.add_handlers([
        *_dialogue_handlers(staff_chat_id),
        *_command_handlers(admin_ids),
        *_message_handlers(),
        *_button_handlers(),
    ])
    application.add_error_handler(ask.on_error)


def _dialogue_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    return [
        match.match_conversation(_NEW_TEXT),  # first: while /match runs, its answers are not questions
        *handoff.handoff_handlers(staff_chat_id),  # 转人工 and staff replies are not questions either
    ]


def _command_handlers(admin_ids: frozenset[int]) -> list[BaseHandler]:
    return [
        CommandHandler("start", browse.start),
        CommandHandler("help", browse.help_command),
        CommandHandler("bundles", browse.bundles),
        CommandHandler("policies", browse.policies),
        CommandHandler("ask", ask.ask_command),
        *admin_handlers(admin_ids),
        CommandHandler("match", match.match_in_group, filters=_GROUPS),
        CommandHandler("cancel", match.cancel_idle, filters=_PRIVATE),
    ]


def _message_handlers() -> list[BaseHandler]:
    return [
        MessageHandler(_NEW_TEXT & _PRIVATE, ask.private_text),
        MessageHandler(_NEW_TEXT & _GROUPS, ask.group_text),
        # Private chats only: in a group, other bots' commands and photos are none of our business.
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND & _PRIVATE, browse.unknown),
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT & _PRIVATE, browse.not_text),
    ]


def _button_handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(browse.on_menu, pattern=browse.MENU_PATTERN),
        CallbackQueryHandler(browse.on_list_page, pattern=browse.LIST_PATTERN),
        CallbackQueryHandler(browse.on_section, pattern=browse.SECTION_PATTERN),
        CallbackQueryHandler(browse.on_vote, pattern=browse.VOTE_PATTERN),
        CallbackQueryHandler(browse.on_tag, pattern=browse.TAG_PATTERN),  # 👎 reason tags (issue 15)
        CallbackQueryHandler(match.on_match_over, pattern=r"^mt:"),
        CallbackQueryHandler(browse.on_stale_button),
    ]
