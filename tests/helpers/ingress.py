"""Bodies for the HTTP ingress tests (issue 10): streamed ones that count how far the server read,
and JSON nested deeper than any real payload."""

from __future__ import annotations

from collections.abc import AsyncIterator

MIB = 1 << 20


class CountingBody:
    """``chunks`` chunks of ``size`` bytes, sent chunked (no Content-Length) and produced only when
    the server asks for the next one: ``pulled`` is how much of the body the server read."""

    def __init__(self, chunks: int, size: int = MIB, fill: bytes = b"x") -> None:
        self._chunk = (fill * (size // len(fill) + 1))[:size]
        self._chunks = chunks
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self._chunks):
            self.pulled += 1
            yield self._chunk

    @property
    def pulled_bytes(self) -> int:
        return self.pulled * len(self._chunk)


def nested_json(depth: int) -> bytes:
    """``{"a": {"a": … 1 …}}``, ``depth`` objects deep."""
    return b'{"a": ' * depth + b"1" + b"}" * depth
