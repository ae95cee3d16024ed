"""The errors the engine raises. Each carries a Chinese message for the person who caused it
and, where one field is at fault, that field's name; adapters map ``status`` to HTTP/exit codes."""

from __future__ import annotations

from collections.abc import Sequence


class RenshiError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class NotFound(RenshiError):
    status = 404
    code = "not_found"


class PermissionDenied(RenshiError):
    status = 403
    code = "forbidden"


class Conflict(RenshiError):
    """The case moved since the caller read it (stale version) or two writers collided."""

    status = 409
    code = "conflict"


class EventNotAllowed(RenshiError):
    status = 409
    code = "event_not_allowed"

    def __init__(self, message: str, allowed: Sequence[str]) -> None:
        super().__init__(message, field="event")
        self.allowed = list(allowed)

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "allowed": self.allowed}


class FormError(RenshiError):
    """Bad input: names the field and why."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}：{message}", field=field)
        self.reason = message


class Problems(FormError):
    """Bad input in several fields at once: every field at fault, the first as the
    FormError's field and reason; ``as_dict`` lists them all the way the API's own
    validation does (``errors``), so a form shows each beside its field."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(*problems[0])
        self.problems = list(problems)

    def as_dict(self) -> dict[str, object]:
        listed = [{"field": f, "reason": r} for f, r in self.problems]
        return {**super().as_dict(), "errors": listed}


class RuleRefused(RenshiError):
    """A rule refused the event; nothing was written."""

    status = 422
    code = "rule_refused"

    def __init__(self, rule: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.rule = rule

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "rule": self.rule}


class CalendarGap(RenshiError):
    status = 422
    code = "calendar_unknown"


class TooMany(RenshiError):
    """A rate limit is spent. ``retry_after`` (seconds) tells the client when to come back;
    the API sends it as the ``Retry-After`` header."""

    status = 429
    code = "too_many"

    def __init__(self, message: str, *, retry_after: int, limit: str) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.limit = limit

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "limit": self.limit, "retry_after": self.retry_after}
