"""Admin commands: /reload (re-ingest through the process's one AdminService) and /stats.

Who is an admin is decided once, by ``filters.User`` on the handlers (``admin_handlers``); everyone
else reaches ``refuse``.
"""

from __future__ import annotations

import asyncio
import html
import logging
from pathlib import Path

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import texts
from bot.telegram.deps import Context, deps
from bot.telegram.render import render_reload, short

log = logging.getLogger(__name__)

ADMIN_COMMANDS = ("reload", "stats")


async def reload(update: Update, context: Context) -> None:
    from bot.services.admin import IngestBusy  # late: it loads the index libraries

    d = deps(context)
    message = update.effective_message
    try:
        run = d.admin.begin()  # the lock first: a second admin hears "busy", not "started"
    except IngestBusy:  # a /reload or a web admin ingest of this process is running
        await message.reply_text(texts.RELOAD_BUSY)
        return
    with run:
        knowledge_dir = Path(d.settings.govbot_knowledge_dir)
        await message.reply_text(texts.RELOAD_STARTED.format(path=html.escape(str(knowledge_dir))))
        try:
            # The service serves the new generation before it returns, not at the next question.
            summary = await asyncio.to_thread(run.ingest, [knowledge_dir])
        except Exception as exc:  # IngestLocked (a CLI ingest is running), EmbedderError, disk errors
            log.exception("reload failed")
            summary, failure = None, str(exc)
    # Reported once the lock is released: an admin who reads "done" may start the next ingest at once.
    if summary is None:
        await message.reply_text(texts.RELOAD_FAILED.format(reason=html.escape(failure)))
        return
    log.info("reload by %s: generation %s", update.effective_user.id, summary.generation)
    for chunk in render_reload(summary):
        await message.reply_text(chunk)


async def stats(update: Update, context: Context) -> None:
    d = deps(context)
    stats = await d.db(d.admin.stats)
    lines = [texts.STATS.format(questions=stats.questions, refused=stats.refused, share=stats.refused_share,
                                helpful=stats.helpful, unhelpful=stats.unhelpful)]
    if stats.top_unanswered:
        lines.append(texts.STATS_UNANSWERED)
        lines += [texts.STATS_UNANSWERED_ROW.format(n=n, question=html.escape(short(q, 80)))
                  for q, n in stats.top_unanswered]
    else:
        lines.append(texts.STATS_NONE)
    await update.effective_message.reply_text("\n".join(lines))


async def refuse(update: Update, context: Context) -> None:
    """An admin command from someone else: logged for us, a short refusal for them."""
    user, chat = update.effective_user, update.effective_chat
    command = (update.effective_message.text or "").split()[0]
    log.warning("refused %s for user %s (@%s) in chat %s", command, user.id if user else "?",
                user.username if user else "?", chat.id if chat else "?")
    await update.effective_message.reply_text(texts.NOT_ADMIN)


def admin_handlers(admin_ids: frozenset[int]) -> list[BaseHandler]:
    # filters.User with no ids matches nobody (allow_empty=False): without admins everyone is refused.
    admins = filters.User(user_id=admin_ids)
    return [
        CommandHandler("reload", reload, filters=admins),
        CommandHandler("stats", stats, filters=admins),
        CommandHandler(list(ADMIN_COMMANDS), refuse),
    ]
