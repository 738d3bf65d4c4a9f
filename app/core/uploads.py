"""A case whose run takes a file the user gives: what it takes, and the check it goes through first.

A case declares it in its pipeline module as ``UPLOAD = Upload(...)``; the registry hands it out as
``parts(case).upload`` (None for a case that takes no file). The Run page's uploader of the case and
``run CASE --upload PATH`` both call ``upload.options(data, name)``: the keyword options of the case's
``build_pipeline`` for that file, or :class:`UploadRejected` whose message is one clear sentence
saying why the file cannot be used. Nothing is stored before the check passes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class UploadRejected(ValueError):
    """A file the user gave cannot be used; the message says why and what is accepted."""


def size_text(n: int) -> str:
    """A file size in words: 5.0 MB, 128 KB, 12 bytes."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n:,} byte{'s' * (n != 1)}"


@dataclass(frozen=True)
class Upload:
    """What a case's run takes from the user.

    ``takes``: what it is, in words a help or error text can use ("an image for the thumbnail").
    ``extensions``: the file names it accepts end in one of these (lower case, with the dot).
    ``max_bytes``: the largest file it accepts.
    ``check``: ``check(data, name) -> dict`` the options of ``build_pipeline`` for the file, raising
    :class:`UploadRejected` for a file it refuses.
    """

    takes: str
    extensions: tuple[str, ...]
    max_bytes: int
    check: Callable[[bytes, str], dict[str, Any]] = field(repr=False, compare=False)

    @property
    def accepted(self) -> str:
        """What is accepted, in words: "a device message (.json or .jsonl, up to 128 KB)"."""
        ext = self.extensions
        names = ", ".join(ext[:-1]) + f" or {ext[-1]}" if len(ext) > 1 else ext[0]
        return f"{self.takes} ({names}, up to {size_text(self.max_bytes)})"

    def options(self, data: bytes, name: str) -> dict[str, Any]:
        """The run options for the file ``name`` holding ``data``; UploadRejected when it cannot be used."""
        return self.check(data, name)
