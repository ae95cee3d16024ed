"""Seeding: the synthetic province (``province``) and the builders every set-up shares
(``builders``). A process's own set-up sits in its package's ``seed`` module, since the core
never imports a process."""

from __future__ import annotations

from states.seed.province import SeedError, SeedSummary, demo_teacher, seed

__all__ = ["SeedError", "SeedSummary", "demo_teacher", "seed"]
