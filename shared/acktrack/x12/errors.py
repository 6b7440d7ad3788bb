"""The one exception the X12 layer raises: the input cannot be read as X12 at all.

Everything short of that (wrong counts, bad codes, missing trailers) is a Finding.
Messages never quote file content, so they are safe to log.
"""

from __future__ import annotations


class UnreadableX12(ValueError):
    """The input is empty, binary, has no ISA, or an ISA that cannot be read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
