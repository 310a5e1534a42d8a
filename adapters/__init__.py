"""Thin translators between a chat platform and the core's events and actions; one module per platform."""
