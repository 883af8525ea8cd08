"""Telegram channel: python-telegram-bot handlers around the answer engine, wired in ``app.build_application``.

- ``app``: wiring, start-up, ``run_telegram`` and ``python -m bot.telegram_bot``
- ``deps``: what handlers share (engine, services, executors) and the compact callback-data codec
- ``ask``: questions, commands and answer rendering to the chat; ``buttons``: menu, lists, sections, 👍/👎
- ``match``: the /match ConversationHandler; ``admin``: /reload and /stats behind ``filters.User``
- ``render``: blocks → HTML messages; ``config``: token, admin ids and webhook options

Every sentence users see lives in ``bot.texts``. ``bot.telegram_bot`` re-exports the public names.
"""
