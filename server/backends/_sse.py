"""Reading an HTTP body as server-sent events, bounded: the lines of an event stream, and the
first bytes of a body that is not one.

Free of the OpenAI protocol: :mod:`splitinfer.server.backends.openai` turns the lines into chat
chunks. Everything here reads at most a fixed number of bytes ahead, whatever the upstream sends:
a broken proxy or a hostile engine cannot make the server hold a body, or one endless line, in
memory.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterator

import httpx

# The longest event line read (1 MiB): a chat chunk carries a token or a few, a few hundred bytes;
# an engine that sends the whole answer in one event sends a few kilobytes.
MAX_LINE_BYTES = 1024 * 1024
# Where an event-stream line ends (the SSE spec's only line breaks).
_LINE_END = re.compile(rb"\r\n|\r|\n")
# Surrogates that are neither half of a pair nor a raw byte kept by ``surrogateescape``.
_STRAY_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


class LineTooLong(Exception):
    """An event line went on past ``max_bytes`` bytes without a line break."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"an event line longer than {max_bytes:,} bytes")
        self.max_bytes = max_bytes


async def body_start(response: httpx.Response, max_bytes: int) -> bytes:
    """At most the first ``max_bytes`` bytes of a body, read as far as needed and no further
    (closing the response then closes its connection rather than reading the rest)."""
    data = bytearray()
    async for part in response.aiter_bytes():
        data += part
        if len(data) >= max_bytes:
            break
    return bytes(data[:max_bytes])


async def sse_lines(response: httpx.Response, max_bytes: int = MAX_LINE_BYTES) -> AsyncIterator[str]:
    """The lines of an event stream, split only at CR, LF or CRLF, as the SSE spec splits them;
    :class:`LineTooLong` for a line longer than ``max_bytes``.

    Linear in the size of the body: each read is scanned once for line ends, from where the last
    scan stopped, and only the unfinished line is kept between reads (a line sent in a thousand
    pieces is not re-scanned a thousand times). A CR at the end of a read is held until the next
    one, which may start with the LF of a CRLF.

    Not httpx's ``aiter_lines``: it also splits at U+2028, U+0085 and other characters that JSON
    leaves unescaped inside strings (vLLM, TGI and llama.cpp's server send UTF-8 as it is), so an
    answer holding one would break its event in two. Lines are decoded with ``surrogateescape``, so
    bytes that are not UTF-8 on their own reach :class:`Characters`, which puts them back together.
    """
    pending = bytearray()
    async for data in response.aiter_bytes():
        scan_from = len(pending) - 1 if pending.endswith(b"\r") else len(pending)
        pending += data
        start = 0
        while (end := _LINE_END.search(pending, scan_from)) is not None:
            if end.group() == b"\r" and end.end() == len(pending):
                break  # maybe the first half of a CRLF
            if end.start() - start > max_bytes:
                raise LineTooLong(max_bytes)
            yield pending[start : end.start()].decode("utf-8", "surrogateescape")
            start = scan_from = end.end()
        del pending[:start]
        if len(pending) > max_bytes + 1:  # + 1: a CR held back
            raise LineTooLong(max_bytes)
    if pending.endswith(b"\r"):
        del pending[-1:]
        yield pending.decode("utf-8", "surrogateescape")
    elif pending:
        yield pending.decode("utf-8", "surrogateescape")


class Characters:
    """Puts back together the characters an engine split between two events.

    Two ways it happens: the UTF-8 bytes of one character sent raw, some in each event (they
    arrive as the escapes of :func:`sse_lines`), or a UTF-16 surrogate pair sent as two JSON
    ``\\u`` escapes. :meth:`feed` returns the text that is whole so far and keeps the rest;
    :meth:`flush` returns what is left, anything still not a character as U+FFFD.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._high = ""  # a high surrogate waiting for its low half

    def feed(self, text: str) -> str:
        text, self._high = self._high + text, ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._high = text[:-1], text[-1]
        paired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        return self._utf8.decode(_STRAY_SURROGATE.sub("\ufffd", paired).encode("utf-8", "surrogateescape"))

    def flush(self) -> str:
        return self._utf8.decode(b"", final=True) + ("\ufffd" if self._high else "")
