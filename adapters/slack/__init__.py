"""Slack: the translator (payloads ⇄ core types, mrkdwn and blocks) and the adapter that drives
bolt and the Web API (``SlackAdapter``); the signed ingress is ``adapters.slack_ingress``."""

from adapters.slack.adapter import EVENTS_PATH, SlackAdapter, SlackError, web_client
from adapters.slack.translate import COMMAND, MAX_TEXT, emoji_of, escape, name_of, plain_text, split_text
from dihya.chat import AnchoredSink as EventSink  # the port moved to dihya.chat; the old name kept

__all__ = ["COMMAND", "EVENTS_PATH", "MAX_TEXT", "EventSink", "SlackAdapter", "SlackError", "emoji_of", "escape",
           "name_of", "plain_text", "split_text", "web_client"]
