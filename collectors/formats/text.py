"""Turning raw bytes into text the line-based readers can share."""

from __future__ import annotations

import codecs
import gzip
import zlib

from collectors.formats.errors import ProfileError

GZIP_MAGIC = b"\x1f\x8b"


def gunzip_if_needed(data: bytes) -> bytes:
    """Decompress gzip (possibly several members); other bytes pass through."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:
        raise ProfileError(f"truncated or corrupt gzip data ({e})") from None


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
