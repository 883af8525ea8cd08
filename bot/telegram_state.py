"""Telegram's conversation state in the shared database, so replicas behind a load balancer share chats.

python-telegram-bot keeps chat_data, user_data and ConversationHandler states in memory and hands them to
a persistence in batches. That survives restarts but not replicas: each process trusts its own copy. Two
pieces change that, both PTB extension points:

- ``DatabasePersistence`` (a ``BasePersistence``) writes what PTB hands it to ``ConversationStore``.
- ``SharedStateProcessor`` (a ``BaseUpdateProcessor``) takes a chat's and a user's updates one at a time,
  reads their rows before each update (when another replica wrote a newer version) and has PTB write the
  changes as soon as the update is handled, so the next turn can land on any replica.

What is stored must be plain data (bot.services.state); a row is read when an update needs it, never all
at start-up. Per-process only: the flood counters (bot.telegram.deps). The per-chat order these reads rely
on is also all the locking the handlers need.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BasePersistence,
    BaseUpdateProcessor,
    ConversationHandler,
    PersistenceInput,
)

from bot.services.state import ConversationStore, StateKey, dumps

log = logging.getLogger(__name__)

CHAT = "telegram:chat"
USER = "telegram:user"
CONVERSATION = "telegram:conversation:"  # + the ConversationHandler's name

ConversationKey = tuple[int | str, ...]  # (chat id, user id) for /match
ConversationDict = dict[ConversationKey, object]


def conversation_key(key: ConversationKey) -> str:
    return json.dumps(list(key))


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """chat_data, user_data and named ConversationHandler states as rows of ConversationStore."""

    def __init__(self, store: ConversationStore) -> None:
        # update_interval only matters as a fallback: SharedStateProcessor writes after every update.
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True,
                                                     callback_data=False), update_interval=60)
        self.store = store
        # (version, text) of each row as this process last read or wrote it; (None, None): no row.
        self.copies: dict[StateKey, tuple[str | None, str | None]] = {}

    async def _put(self, scope: str, key: str, value: Any) -> None:
        # PTB hands over every chat and user an update touched, changed or not, and again at shutdown.
        # Writing an unchanged copy would undo what another replica wrote since: only changes are written.
        text = dumps(value)
        if self.copies.get((scope, key), (None, None))[1] == text:
            return
        version = await asyncio.to_thread(self.store.put_text, scope, key, text)
        self.copies[(scope, key)] = (version, text)

    async def _drop(self, scope: str, key: str) -> None:
        if (scope, key) in self.copies and self.copies[(scope, key)][0] is None:
            return
        await asyncio.to_thread(self.store.delete, scope, key)
        self.copies[(scope, key)] = (None, None)

    # Nothing is loaded at start-up: SharedStateProcessor reads each chat's rows when it needs them.
    async def get_chat_data(self) -> dict[int, dict]:
        return {}

    async def get_user_data(self) -> dict[int, dict]:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        await self._put(CHAT, str(chat_id), data)

    async def update_user_data(self, user_id: int, data: dict) -> None:
        await self._put(USER, str(user_id), data)

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        if new_state is None:
            await self._drop(CONVERSATION + name, conversation_key(key))
        else:
            await self._put(CONVERSATION + name, conversation_key(key), new_state)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._drop(CHAT, str(chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop(USER, str(user_id))

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def update_callback_data(self, data: Any) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass  # done before the update by SharedStateProcessor, in time for ConversationHandler

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def flush(self) -> None:
        pass  # every write is committed when it is made

    async def load(self, application: Application, update: Update) -> None:
        """Bring this update's chat_data, user_data and conversation states up to the database's version."""
        chat, user = update.effective_chat, update.effective_user
        wanted: dict[StateKey, Any] = {}
        if chat is not None:
            wanted[(CHAT, str(chat.id))] = ("data", application.chat_data[chat.id])
        if user is not None:
            wanted[(USER, str(user.id))] = ("data", application.user_data[user.id])
        for handler in _persistent_conversations(application):
            try:
                key = handler._get_key(update)  # PTB is pinned (pyproject); the key is per chat and user
            except RuntimeError:  # an update without the chat or user this handler is keyed by
                continue
            wanted[(CONVERSATION + handler.name, conversation_key(key))] = ("state", (handler, key))
        rows = await asyncio.to_thread(self.store.get_many, list(wanted))
        for row_key, (kind, target) in wanted.items():
            version, value = rows.get(row_key, (None, None))
            if version == self.copies.get(row_key, (None, None))[0]:
                continue  # our copy is the latest (or neither exists)
            self.copies[row_key] = (version, None if version is None else dumps(value))
            if kind == "data":
                target.clear()
                target.update(value or {})
                continue
            handler, key = target
            states = handler._conversations  # a TrackingDict: change it without marking it for writing
            if version is None:
                states.data.pop(key, None)  # ended on another replica
            else:
                states.update_no_track({key: value})


def _persistent_conversations(application: Application) -> list[ConversationHandler]:
    return [h for group in application.handlers.values() for h in group
            if isinstance(h, ConversationHandler) and h.persistent and h.name]


class SharedStateProcessor(BaseUpdateProcessor):
    """Updates of different chats in parallel; of one chat or user in order, with their state read before
    and written right after (the per-chat ordering PTB's docs suggest an update processor for)."""

    def __init__(self, persistence: DatabasePersistence, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.persistence = persistence
        self.application: Application | None = None  # set by bind() once the application is built
        self._locks: weakref.WeakValueDictionary[tuple[str, int], asyncio.Lock] = weakref.WeakValueDictionary()

    def bind(self, application: Application) -> None:
        self.application = application

    def _lock(self, key: tuple[str, int]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        application = self.application
        if application is None or not isinstance(update, Update):
            await coroutine
            return
        keys = set()
        if update.effective_chat is not None:
            keys.add(("chat", update.effective_chat.id))
        if update.effective_user is not None:
            keys.add(("user", update.effective_user.id))
        async with contextlib.AsyncExitStack() as held:
            for key in sorted(keys):  # one order everywhere: no two updates wait on each other
                await held.enter_async_context(self._lock(key))
            try:
                await self.persistence.load(application, update)
            except Exception:  # the database is down: answer from this replica's memory rather than not at all
                log.exception("conversation state not read; using this replica's copy")
            await coroutine
            # Written now, not at PTB's interval: the user's next message may reach another replica.
            await application.update_persistence()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
