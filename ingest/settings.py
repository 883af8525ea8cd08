"""Configuration from the environment (and an optional .env file)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # An empty variable means "not set" (the Dockerfile sets GOVBOT_EMBEDDING="" when no ST model is baked in).
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    govbot_home: Path = Field(default=Path("./data"), description="数据目录：索引、默认的 SQLite 数据库、上传文件")
    govbot_embedding: str = Field(default="e5", description="e5 | use | hash | st:<模型名或路径>")
    govbot_knowledge_dir: Path = Field(default=Path("./knowledge"), description="/reload 与管理页重新导入的目录")
    govbot_max_file_mb: int = Field(default=20, ge=1)
    # DOCX/PDF are parsed in a child process with these budgets, so a decompression bomb fails alone (F7).
    govbot_parse_timeout_s: float = Field(default=30.0, gt=0, description="单个 DOCX/PDF 的解析时限（秒）")
    govbot_parse_memory_mb: int = Field(default=1024, ge=64, description="解析子进程的内存上限")
    govbot_max_inflated_mb: int = Field(default=100, ge=1, description="DOCX 解压后的总大小上限")
    govbot_max_pdf_pages: int = Field(default=500, ge=1)
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
    # The web app takes the updates on this URL's path (bot/web/telegram_routes.py), on the web port.
    govbot_telegram_webhook_url: str | None = Field(default=None, description="Telegram 推送更新的公网地址（带路径）")
    govbot_telegram_webhook_secret: str | None = Field(default=None, description="Webhook 密钥；设置地址时必填")

    # DingTalk (Stream mode: an outbound WebSocket, no public address needed), bot.channels.dingtalk
    govbot_dingtalk_client_id: str | None = Field(default=None, description="钉钉应用 Client ID（AppKey）")
    govbot_dingtalk_client_secret: str | None = None
    govbot_dingtalk_admin_ids: str = Field(default="", description="可用 /reload /stats 的钉钉 userId，逗号分隔")
    # Where the SDK opens its connection; tests point it at a fake gateway on 127.0.0.1.
    govbot_dingtalk_gateway_url: str = "https://api.dingtalk.com/v1.0/gateway/connections/open"
    # The robot OpenAPI (access token, interactive cards, proactive sends); tests: a fake on 127.0.0.1.
    govbot_dingtalk_api_base: str = "https://api.dingtalk.com"
    # Off by default: Markdown through the session webhook needs no extra permission, while cards go through
    # the OpenAPI and need the app's robot send-message and interactive-card permissions granted first.
    govbot_dingtalk_cards: bool = Field(default=False, description="true：回答用带按钮的互动卡片；false：Markdown")

    # Feishu / Lark, bot.channels.feishu: "ws" is the SDK's long connection (outbound, for an intranet without a
    # public address); "callback" is the event callback for a DMZ deployment. Unset: "callback" when an Encrypt
    # Key or Verification Token is set (they only mean something for callbacks), otherwise "ws".
    govbot_feishu_mode: Literal["ws", "callback"] | None = Field(default=None, description="ws | callback")
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

    # Handoff to a person (转人工, issue 15): where staff see questions and answer them
    govbot_telegram_staff_chat_id: int | None = Field(default=None, description="接收转人工问题的 Telegram 群或用户 ID")
    govbot_dingtalk_staff_chat: str | None = Field(default=None, description="接收转人工问题的钉钉群 openConversationId")
    govbot_feishu_staff_chat: str | None = Field(default=None, description="接收转人工问题的飞书群 chat_id")
    govbot_wecom_staff_users: str = Field(default="", description="接收转人工问题的企业微信 UserID，逗号分隔")
    govbot_handoff_poll_s: float = Field(default=5.0, gt=0, description="各渠道检查待送达的人工答复的间隔（秒）")

    # Web
    govbot_admin_token: str | None = None
    # Limits on what one client can make the server do (reliability F3, F8, F10, F11).
    govbot_max_question_chars: int = Field(default=500, ge=10, description="网页与接口处理的问题最大长度")
    govbot_max_body_kb: int = Field(default=1024, ge=1, description="上传以外的请求体上限")
    govbot_max_upload_mb: int = Field(default=100, ge=1, description="一次上传请求的请求体上限")
    govbot_rate_per_minute: int = Field(default=120, ge=0, description="每个客户端每分钟请求数；0 为不限")
    govbot_rate_burst: int = Field(default=40, ge=1, description="每个客户端可瞬间发出的请求数")
    govbot_admin_max_failures: int = Field(default=5, ge=1, description="口令连续错误几次后暂停尝试")
    govbot_admin_lockout_s: int = Field(default=60, ge=1, description="暂停尝试的秒数（每次再错加倍）")
    govbot_admin_session_hours: float = Field(default=8.0, gt=0)
    # Behind a reverse proxy every client has the proxy's address: then key the limits on the last
    # X-Forwarded-For entry (the one the proxy added). Off by default: a client could forge it.
    govbot_trust_forwarded_for: bool = False
    # Usage log, feedback and conversation state; PostgreSQL when replicas share conversations.
    govbot_database_url: str | None = None

    # Privacy (issue 15): stored questions older than this are purged (bot.services.retention); 0 keeps all.
    # 180 days: two quarters of unanswered questions and 好差评 follow-ups, not kept longer than needed (PIPL art. 19).
    govbot_retention_days: int = Field(default=180, ge=0, description="提问、反馈等记录的保留天数；0 为永久保留")

    @property
    def store_dir(self) -> Path:
        return self.govbot_home / "index"

    @property
    def feishu_mode(self) -> str:
        """GOVBOT_FEISHU_MODE, or "callback" when callback secrets are set, else the long connection "ws"."""
        if self.govbot_feishu_mode:
            return self.govbot_feishu_mode
        return "callback" if self.govbot_feishu_encrypt_key or self.govbot_feishu_verification_token else "ws"

    @property
    def database_url(self) -> str:
        return self.govbot_database_url or f"sqlite:///{self.govbot_home / 'govbot.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
