"""Matrix: the translator (events ⇄ core types), the session keeper (login, device, keys), the
sync loop (sync, back-fill, invites) and the adapter that joins them (``MatrixAdapter``)."""

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.errors import MatrixError
from adapters.matrix.session import stored_device
from adapters.matrix.state import LEGACY_REACTIONS, REACTION_PREFIX, KeyValues, ReactionMemory, Remembered
from adapters.matrix.sync import backoff_delay
from adapters.matrix.translate import addressing, command_text

__all__ = ["LEGACY_REACTIONS", "REACTION_PREFIX", "KeyValues", "MatrixAdapter", "MatrixError", "ReactionMemory",
           "Remembered", "addressing", "backoff_delay", "command_text", "stored_device"]
