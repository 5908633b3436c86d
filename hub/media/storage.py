"""Where photo bytes live: an interface, and an implementation on local disk.

Names are opaque strings the caller makes (`p3f…-full.jpg`); the store checks
only that a name cannot climb out of its folder. Writes are atomic (a
temporary file, then a rename), so a reader never sees half a photo and a
crash leaves at most a stray temporary file. Disk I/O runs in a thread, so a
slow disk does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class MediaStore(Protocol):
    """Bytes by name; what an object store (S3, Swift, …) would implement."""

    async def put(self, name: str, data: bytes) -> None:
        """Store `data` under `name`, replacing what was there."""

    async def get(self, name: str) -> bytes | None:
        """The bytes under `name`, or None."""

    async def discard(self, name: str) -> None:
        """Remove `name`; removing what is absent is not an error."""


class DiskMediaStore:
    """Files under `root`, spread over 256 subfolders by a hash-like prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        if not NAME_RE.match(name) or ".." in name:
            raise ValueError(f"not a media name: {name[:40]!r}")
        # Ids are random, so their first characters spread files evenly.
        return self.root / name[1:3] / name

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self.path(name), data)

    async def get(self, name: str) -> bytes | None:
        return await asyncio.to_thread(self._get, self.path(name))

    async def discard(self, name: str) -> None:
        await asyncio.to_thread(self._discard, self.path(name))

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            with open(partial, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    @staticmethod
    def _get(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    @staticmethod
    def _discard(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
