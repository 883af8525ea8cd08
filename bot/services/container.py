"""The composition root: one Engine, one usage store, one conversation store and one admin service per process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services.admin import AdminService
from bot.services.asking import AskService

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.feedback import FeedbackStore
    from bot.services.state import ConversationStore
    from ingest.settings import Settings


@dataclass
class Services:
    """What every channel of a process shares; `govbot serve` hands the same one to web and Telegram."""

    settings: Settings
    store_dir: Path
    engine: Engine
    feedback: FeedbackStore
    admin: AdminService
    state: ConversationStore  # conversation state in GOVBOT_DATABASE_URL, shared by replicas
    asking: AskService  # what every channel does around the engine's answer


def build_services(store_dir: Path | None = None, settings: Settings | None = None) -> Services:
    """Load the current index once (the engine) and wire the services around it."""
    from bot.engine import Engine
    from bot.feedback import FeedbackStore
    from bot.services.state import ConversationStore
    from ingest.settings import get_settings

    settings = settings or get_settings()
    store = Path(store_dir or settings.store_dir)
    engine = Engine(store, settings=settings)
    feedback = FeedbackStore(settings.database_url)
    admin = AdminService(settings, store, engine=engine, feedback=feedback)
    return Services(settings, store, engine, feedback, admin, ConversationStore(settings.database_url),
                    AskService(engine, feedback))
