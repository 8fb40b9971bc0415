"""The one error type readers and writers raise for input a user can get wrong."""

from __future__ import annotations


class ProfileError(Exception):
    """Bad input: the message is one sentence a user can act on (no file name; the caller adds it)."""
