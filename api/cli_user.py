"""``renshi user``: the account commands, kept under their old name for the scripts that call
them. The commands themselves live with the rest of accounts and roles in
``api.registry.accounts`` (one command group, one set of rules: every change writes the
account's history and moves the work it would strand)."""

from __future__ import annotations

from api.registry.accounts import cli as user

__all__ = ["user"]
