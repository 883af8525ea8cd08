"""Messenger channels beside Telegram (issue 14): DingTalk, Feishu/Lark, WeCom.

Each adapter only turns its platform's events into a neutral `Incoming` message and renders the
structured answer back; the conversation (state, buttons, votes, admin commands) lives in bot.channels.base.
The adapters never import each other (an import-linter contract in pyproject.toml).
"""
