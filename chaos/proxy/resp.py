"""Just enough RESP to split a client's byte stream into whole commands and name each one.

``redis_error`` needs to know where a command starts and ends and what it is called; it never
needs the arguments, so this does not decode them.
"""

from __future__ import annotations


class RespProtocolError(ValueError):
    """The client sent bytes that are not RESP; the proxy then stops interpreting them."""


def split_command(buffer: bytes | bytearray, start: int = 0) -> tuple[int, bytes] | None:
    """Find the command that begins at ``start``: its end offset and its upper-cased name.

    Returns None when the buffer holds only part of it. Handles multibulk (``*N``) commands and
    inline ones (``PING\\r\\n``), as Redis does.
    """
    if start >= len(buffer):
        return None
    if buffer[start] != ord("*"):
        line_end = buffer.find(b"\n", start)
        if line_end < 0:
            return None
        words = bytes(buffer[start:line_end]).strip().split()
        return line_end + 1, (words[0].upper() if words else b"")
    line_end = buffer.find(b"\r\n", start)
    if line_end < 0:
        return None
    try:
        count = int(buffer[start + 1 : line_end])
    except ValueError as exc:
        raise RespProtocolError(f"bad multibulk length {bytes(buffer[start:line_end])!r}") from exc
    position = line_end + 2
    name = b""
    for index in range(count):
        if position >= len(buffer):
            return None
        if buffer[position] != ord("$"):
            raise RespProtocolError(f"expected '$' at offset {position}")
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        try:
            length = int(buffer[position + 1 : line_end])
        except ValueError as exc:
            raise RespProtocolError("bad bulk length") from exc
        value_start = line_end + 2
        position = value_start + length + 2
        if position > len(buffer):
            return None
        if index == 0:
            name = bytes(buffer[value_start : value_start + length]).upper()
    return position, name


def encode_command(*words: bytes) -> bytes:
    """A multibulk command, as a client would send it."""
    parts = [b"*%d\r\n" % len(words)]
    for word in words:
        parts.append(b"$%d\r\n%s\r\n" % (len(word), word))
    return b"".join(parts)


def bulk_reply(value: bytes) -> bytes:
    """The bulk-string reply Redis sends for ``ECHO value``."""
    return b"$%d\r\n%s\r\n" % (len(value), value)
