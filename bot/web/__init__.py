"""The front-desk web page, JSON API and admin page (FastAPI, server-rendered)."""

from bot.web.app import create_app, run_web

__all__ = ["create_app", "run_web"]
