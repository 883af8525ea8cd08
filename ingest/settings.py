"""Configuration from the environment (and an optional .env file)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # An empty variable means "not set" (the Dockerfile sets GOVBOT_EMBEDDING="" when no ST model is baked in).
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    govbot_home: Path = Field(default=Path("./data"), description="数据目录：索引、默认的 SQLite 数据库、上传文件")
    govbot_embedding: str = Field(default="e5", description="e5 | use | hash | st:<模型名或路径>")
    govbot_knowledge_dir: Path = Field(default=Path("./knowledge"), description="/reload 与管理页重新导入的目录")
    govbot_max_file_mb: int = Field(default=20, ge=1)
    chroma_host: str | None = None
    chroma_port: int = 8000

    # Answer engine
    # The day policy validity is judged on (YYYY-MM-DD); unset: the system date. Pinned in tests.
    govbot_today: date | None = None
    govbot_min_confidence: float | None = None  # None: the fitted threshold

    # Optional LLM composer (any OpenAI-compatible endpoint)
    govbot_llm_base_url: str | None = None
    govbot_llm_model: str | None = None
    govbot_llm_api_key: str | None = None
    govbot_llm_timeout: float = 20.0

    # Telegram
    telegram_bot_token: str | None = None
    telegram_admin_ids: str = ""
    govbot_telegram_base_url: str | None = None
    # Webhook for `govbot serve` (several replicas behind a load balancer cannot long-poll); unset: polling.
    govbot_telegram_webhook_url: str | None = Field(default=None, description="Telegram 推送更新的公网地址")
    govbot_telegram_webhook_listen: str = "0.0.0.0"
    govbot_telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    govbot_telegram_webhook_secret: str | None = None

    # DingTalk (Stream mode: an outbound WebSocket, no public address needed), bot.channels.dingtalk
    govbot_dingtalk_client_id: str | None = Field(default=None, description="钉钉应用 Client ID（AppKey）")
    govbot_dingtalk_client_secret: str | None = None
    govbot_dingtalk_admin_ids: str = Field(default="", description="可用 /reload /stats 的钉钉 userId，逗号分隔")
    # Where the SDK opens its connection; tests point it at a fake gateway on 127.0.0.1.
    govbot_dingtalk_gateway_url: str = "https://api.dingtalk.com/v1.0/gateway/connections/open"

    # Feishu / Lark (event callback: a DMZ deployment with a public address), bot.channels.feishu
    govbot_feishu_app_id: str | None = Field(default=None, description="飞书应用 App ID")
    govbot_feishu_app_secret: str | None = None
    govbot_feishu_encrypt_key: str | None = Field(default=None, description="事件订阅的 Encrypt Key（加密与验签）")
    govbot_feishu_verification_token: str | None = None
    govbot_feishu_admin_ids: str = Field(default="", description="可用 /reload /stats 的飞书 open_id，逗号分隔")
    govbot_feishu_domain: str = "https://open.feishu.cn"  # https://open.larksuite.com for Lark; tests: 127.0.0.1
    govbot_feishu_listen: str = "0.0.0.0"
    govbot_feishu_port: int = Field(default=8090, ge=1, le=65535, description="事件回调监听端口（路径 /feishu/events）")

    # WeCom 自建应用 (callback URL with AES-encrypted XML; replies through the WeCom API), bot.channels.wecom
    govbot_wecom_corp_id: str | None = Field(default=None, description="企业微信企业 ID（CorpID）")
    govbot_wecom_agent_id: int | None = None
    govbot_wecom_secret: str | None = Field(default=None, description="自建应用的 Secret")
    govbot_wecom_token: str | None = Field(default=None, description="接收消息的 Token")
    govbot_wecom_aes_key: str | None = Field(default=None, description="接收消息的 EncodingAESKey（43 位）")
    govbot_wecom_admin_ids: str = Field(default="", description="可用 /reload /stats 的企业微信 UserID，逗号分隔")
    govbot_wecom_api_base: str = "https://qyapi.weixin.qq.com"  # tests: a fake WeCom API on 127.0.0.1
    govbot_wecom_listen: str = "0.0.0.0"
    govbot_wecom_port: int = Field(default=8091, ge=1, le=65535, description="回调监听端口（路径 /wecom/callback）")

    # Web
    govbot_admin_token: str | None = None
    # Usage log, feedback and conversation state; PostgreSQL when replicas share conversations.
    govbot_database_url: str | None = None

    @property
    def store_dir(self) -> Path:
        return self.govbot_home / "index"

    @property
    def database_url(self) -> str:
        return self.govbot_database_url or f"sqlite:///{self.govbot_home / 'govbot.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
