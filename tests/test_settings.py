"""Configuration as deployments write it."""

from __future__ import annotations

import pytest

from ingest.settings import Settings


def test_empty_variables_mean_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path):
    # The Dockerfile sets GOVBOT_EMBEDDING="" when no sentence-transformers model is baked in;
    # that once made `govbot serve` exit with 未知的向量模型 ''.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVBOT_EMBEDDING", "")
    monkeypatch.setenv("CHROMA_HOST", "")
    settings = Settings()
    assert settings.govbot_embedding == "e5"
    assert not settings.chroma_host


def test_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOVBOT_EMBEDDING", raising=False)
    (tmp_path / ".env").write_text("GOVBOT_EMBEDDING=use\nTELEGRAM_BOT_TOKEN=\n", encoding="utf-8")
    assert Settings().govbot_embedding == "use"
