"""`python -m bot.cli`: the same as the `govbot` entry point."""

from bot.cli import app

app()
