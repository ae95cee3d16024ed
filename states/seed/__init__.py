"""Seeding: the synthetic province (``province``: written as a bureau's files, loaded through
the registry's imports) and the builders every set-up shares (``builders``). A process's own
set-up sits in its package's ``seed`` module, since the core never imports a process."""

from __future__ import annotations

from states.seed.province import (
    ProvinceFiles,
    SeedError,
    SeedSummary,
    demo_teacher,
    load_province,
    seed,
    write_province,
)

__all__ = [
    "ProvinceFiles",
    "SeedError",
    "SeedSummary",
    "demo_teacher",
    "load_province",
    "seed",
    "write_province",
]
