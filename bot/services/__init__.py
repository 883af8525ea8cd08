"""Services: what the channels (CLI, web, Telegram) share, so each channel only translates.

Channels import services; services import the engine, the matcher and ingest, never a channel.
"""
