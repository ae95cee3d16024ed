"""The audit key ring: the keys that seal audit events, kept outside the database.

A directory of key files (``RENSHI_AUDIT_KEYS``, default ``RENSHI_VAR/audit-keys``), one key
a file, ``0001.key``, ``0002.key`` …, each 32 random bytes in hex, mode 0600. The highest
number seals new events; every key stays for verification. A key is named by its own
fingerprint (``states.audit.key_id_of``), and each event records the name it was sealed
with, so a missing key is reported by name, never passed over.

The first key is made on first use, and every key is published with a hard link under its
number: two processes starting together (or rotating together) cannot each write their
own key under the same number. See docs/audit.md for backing up and rotating keys.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from states.audit import Sealer

KEYS_ENV = "RENSHI_AUDIT_KEYS"
SUFFIX = ".key"
KEY_BYTES = 32
RECHECK_SECONDS = 30.0  # how soon a running process seals with a key rotated elsewhere


class KeyRingError(RuntimeError):
    """The key ring cannot be read: a file that is not a key, or no key where one must be."""


def key_dir() -> Path:
    """Where the ring lives: ``RENSHI_AUDIT_KEYS``, else ``audit-keys`` next to the other
    local state (``RENSHI_VAR``, default ``var``)."""
    explicit = os.environ.get(KEYS_ENV, "").strip()
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("RENSHI_VAR", "var")) / "audit-keys"


@dataclass(frozen=True)
class KeyFile:
    """One key of the ring as an operator sees it: its number, name and file."""

    number: int
    key_id: str
    path: Path


class KeyRing:
    """The keys of one directory: the newest seals, all verify."""

    def __init__(self, sealers: list[tuple[int, Sealer]], source: Path | None = None) -> None:
        ordered = sorted(sealers, key=lambda pair: pair[0])
        self.numbered = ordered
        self.by_id = {s.key_id: s for _, s in ordered}
        self.source = source

    @property
    def current(self) -> Sealer | None:
        return self.numbered[-1][1] if self.numbered else None

    def get(self, key_id: str | None) -> Sealer | None:
        return self.by_id.get(key_id) if key_id is not None else None

    def files(self) -> list[KeyFile]:
        base = self.source or Path()
        return [KeyFile(n, s.key_id, base / _name(n)) for n, s in self.numbered]


def _name(number: int) -> str:
    return f"{number:04d}{SUFFIX}"


def _parse(path: Path) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise KeyRingError(f"审计密钥文件无法读取（应为十六进制）：{path}") from None
    if len(secret) < 16:
        raise KeyRingError(f"审计密钥过短（至少16字节）：{path}")
    return secret


def read_ring(directory: Path | None = None) -> KeyRing:
    """The ring as it is on disk now; an absent or empty directory is an empty ring."""
    directory = directory or key_dir()
    sealers: list[tuple[int, Sealer]] = []
    if directory.is_dir():
        for path in directory.iterdir():
            stem = path.name.removesuffix(SUFFIX)
            if path.name.endswith(SUFFIX) and stem.isdigit() and not path.name.startswith("."):
                sealers.append((int(stem), Sealer(_parse(path))))
    return KeyRing(sealers, directory)


def add_key(directory: Path | None = None) -> KeyFile:
    """A new key under the next free number: from now on it seals new events.

    The file is written under a temporary name, synced, then hard-linked to its number,
    which fails if another process took the number first; then the next one is tried.
    """
    directory = directory or key_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_bytes(KEY_BYTES)
    tmp = directory / f".new-{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(secret.hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        while True:
            ring = read_ring(directory)
            number = ring.numbered[-1][0] + 1 if ring.numbered else 1
            try:
                os.link(tmp, directory / _name(number))
            except FileExistsError:
                continue
            break
    finally:
        tmp.unlink(missing_ok=True)
    return KeyFile(number, Sealer(secret).key_id, directory / _name(number))


def _first_key(directory: Path) -> None:
    """Make key number 1 unless some process has: the loser of a race keeps the winner's."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = directory / f".new-{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, directory / _name(1))
    finally:
        tmp.unlink(missing_ok=True)


class _Rings:
    """The process's ring, re-read when its directory changes (a key rotated by another
    process) or the environment names another one — looked at at most every
    ``RECHECK_SECONDS``: sealing an event costs one clock read, no lookup, no system call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (RENSHI_AUDIT_KEYS, RENSHI_VAR) -> ring, directory mtime
        self.loaded: dict[tuple[str | None, str | None], tuple[KeyRing, float]] = {}
        self.pinned: KeyRing | None = None
        self.last: KeyRing | None = None  # the ring handed out last, with a key in it
        self.until = 0.0  # ... good until this monotonic time

    def ring(self, *, create: bool) -> KeyRing:
        if self.pinned is not None:
            return self.pinned
        last = self.last
        if last is not None and time.monotonic() < self.until:
            return last
        with self.lock:
            spot = (os.environ.get(KEYS_ENV), os.environ.get("RENSHI_VAR"))
            directory = key_dir()
            mtime = _mtime(directory)
            entry = self.loaded.get(spot)
            if entry is None or entry[1] != mtime or (create and not entry[0].numbered):
                ring = read_ring(directory)
                if create and not ring.numbered:
                    _first_key(directory)
                    ring, mtime = read_ring(directory), _mtime(directory)
                entry = self.loaded[spot] = (ring, mtime)
            if entry[0].numbered:
                self.last, self.until = entry[0], time.monotonic() + RECHECK_SECONDS
            return entry[0]

    def forget(self) -> None:
        with self.lock:
            self.loaded.clear()
            self.last, self.until = None, 0.0


def _mtime(directory: Path) -> float:
    try:
        return directory.stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return -1.0


_RINGS = _Rings()


def ring(*, create: bool = False) -> KeyRing:
    """The process's key ring (``key_dir()``). ``create``: make the first key if there is
    none — what a writer does on a fresh installation; a verifier never does."""
    return _RINGS.ring(create=create)


def sealer() -> Sealer:
    """The key that seals what is written now."""
    current = _RINGS.ring(create=True).current
    if current is None:  # pragma: no cover - create=True always leaves a key
        raise KeyRingError(f"没有可用的审计密钥：{key_dir()}")
    return current


def fresh() -> KeyRing:
    """The ring re-read from disk now (after a rotation here, or to find a key named by an
    event that another process sealed since this one last looked)."""
    _RINGS.forget()
    return _RINGS.ring(create=False)


@contextlib.contextmanager
def pinned(keys: KeyRing) -> Iterator[KeyRing]:
    """Seal and verify with ``keys`` for a while, whatever the directory holds: the
    benchmarks compare sealers this way."""
    before = _RINGS.pinned
    _RINGS.pinned = keys
    try:
        yield keys
    finally:
        _RINGS.pinned = before
