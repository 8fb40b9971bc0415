"""Turning raw bytes into text the line-based readers can share."""

from __future__ import annotations

import codecs
import io
import zlib

from collectors.formats.errors import ProfileError

GZIP_MAGIC = b"\x1f\x8b"


MAX_GUNZIPPED = 4 << 30
"""The most gzip data may unpack to by default: a 4 MB gzip bomb would otherwise be 4 GB."""

MAX_GZIP_RATIO = 200
"""How many times its compressed size gzip data may unpack to, beyond `GZIP_RATIO_FREE`.
Profiles compress 5-50 times (repetitive perf script text ~100); deflate's ceiling is
~1,030, which only crafted data reaches: a 510 KB file unpacking to 512 MiB is stopped at
100 MB instead of costing a gigabyte."""

GZIP_RATIO_FREE = 64 << 20
"""Unpacked sizes up to this are allowed whatever the ratio."""

_GZIP_CHUNK = 1 << 20


def gunzip_if_needed(data: bytes, limit: int = MAX_GUNZIPPED) -> bytes:
    """Decompress gzip (possibly several members); other bytes pass through. Unpacking stops
    with a ProfileError past `limit` bytes, or past `MAX_GZIP_RATIO` times the compressed
    size (beyond `GZIP_RATIO_FREE`), before a gzip bomb has filled memory. The output is
    gathered in one growing buffer that `getvalue` hands over without a copy, so the data is
    held once, not as chunks and their join."""
    if not data.startswith(GZIP_MAGIC):
        return data
    cap = min(limit, max(GZIP_RATIO_FREE, MAX_GZIP_RATIO * len(data)))
    out = io.BytesIO()
    size = 0
    rest = data
    try:
        while rest.startswith(GZIP_MAGIC):
            member = zlib.decompressobj(wbits=31)
            pending = rest
            while True:
                chunk = member.decompress(pending, _GZIP_CHUNK)
                size += len(chunk)
                if size > cap:
                    raise ProfileError(_too_big(cap, limit, len(data)))
                out.write(chunk)
                pending = member.unconsumed_tail
                if member.eof or not (chunk or pending):
                    break
            if not member.eof:
                raise ProfileError("truncated gzip data (it ends before the compressed stream does)")
            rest = member.unused_data.lstrip(b"\0")  # gzip allows padding between members
    except zlib.error as e:
        raise ProfileError(f"corrupt gzip data ({e})") from None
    if rest:
        raise ProfileError("corrupt gzip data (trailing bytes that are not another gzip member)")
    return out.getvalue()


def _too_big(cap: int, limit: int, packed: int) -> str:
    if cap == limit:
        return f"the gzip data unpacks to more than {limit:,} bytes"
    return (f"the gzip data unpacks to more than {MAX_GZIP_RATIO} times its {packed:,} bytes "
            f"(past {cap:,} bytes: a gzip bomb rather than a profile)")


def decode_text(data: bytes) -> str:
    """Decode UTF-8 or UTF-16 (with a BOM); fold CRLF and CR line ends to LF."""
    if data.startswith(codecs.BOM_UTF8):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise ProfileError(f"bad UTF-16 text ({e.reason})") from None
    else:
        text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text (NULs, many control bytes) in the first 4 KiB."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > len(head) // 10
