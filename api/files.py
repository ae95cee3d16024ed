"""Attachment bytes: kept outside the database, named by their SHA-256, checked on the way in.

The type is decided from the file's first bytes, not from its name or the browser's claim, so
a renamed executable is refused as what it is.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024

# extension -> (content type, magic prefixes)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
}


class UploadRejected(ValueError):
    """Why a file was refused, in words for the person who sent it."""


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    content_type: str
    filename: str


class FileStore:
    def __init__(self, root: Path, max_bytes: int = MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def save(self, filename: str, stream: BinaryIO) -> Stored:
        """Stream to a temporary file while hashing; refuse past the size limit or on a
        type mismatch; then move into place under the checksum (identical files share)."""
        name = Path(filename or "").name.strip()
        ext = Path(name).suffix.lower()
        if not name or ext not in ALLOWED:
            allowed = "、".join(sorted(ALLOWED))
            raise UploadRejected(f"文件类型不允许，仅支持：{allowed}")
        content_type, magics = ALLOWED[ext]
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadRejected(
                            f"文件过大：不能超过{self.max_bytes // (1024 * 1024)}MB"
                        )
                    if len(head) < 16:
                        head = (head + chunk)[:16]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise UploadRejected("文件为空")
            if not any(head.startswith(m) for m in magics):
                raise UploadRejected(f"文件内容与扩展名{ext}不符")
            sha = digest.hexdigest()
            target = self.path(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Stored(sha, size, content_type, name[:255])
