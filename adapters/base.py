"""Kept for imports written before the ports moved to the application layer (``dihya.chat``)."""

from dihya.chat import ChatAdapter, EventSink, LeaderSource, Performer

__all__ = ["ChatAdapter", "EventSink", "LeaderSource", "Performer"]
