"""Telegram channel: python-telegram-bot handlers around the answer engine, wired in ``app.build_application``.

- ``app``: wiring, start-up, ``run_telegram`` and ``python -m bot.telegram_bot``
- ``handlers``: which handlers are registered, by group and in order
- ``deps``: what handlers share (engine, services, executors) and the compact callback-data codec
- ``ask``: questions (private, group, /ask), the flood guard, the answer keyboard, the error handler
- ``browse``: /start, /help, the menu, item lists, section buttons and 👍/👎
- ``match``: the /match ConversationHandler; ``profile``: its answers checked and its report
- ``admin``: /reload and /stats behind ``filters.User``
- ``render``: blocks → HTML messages; ``config``: token, admin ids and webhook options

Every sentence users see lives in ``bot.texts``. ``bot.telegram_bot`` re-exports the public names.
"""
