"""Telegram: the translator (updates ⇄ core types, text shaping), the transport (pacing, retries,
token hygiene) and the adapter that joins them (``TelegramAdapter``)."""

from adapters.telegram.adapter import SECRET_HEADER, UPDATE_QUEUE, WEBHOOK_PATH, TelegramAdapter
from adapters.telegram.translate import addressed_text, split_text
from adapters.telegram.transport import Limits

__all__ = ["SECRET_HEADER", "UPDATE_QUEUE", "WEBHOOK_PATH", "Limits", "TelegramAdapter", "addressed_text",
           "split_text"]
