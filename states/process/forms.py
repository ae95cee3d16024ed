"""Forms: what a payload may carry, each field checked with a reason that names it.

Pure: the engine, the API and the pages all validate through these, so an error reads the
same wherever it was made.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from states.errors import FormError

FieldKind = Literal["text", "int", "float", "date", "choice", "bool"]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = True
    choices: Mapping[str, str] | None = None  # code -> label
    max_length: int = 2000
    min_value: float | None = None
    max_value: float | None = None
    pattern: str | None = None
    help: str = ""

    def parse(self, raw: Any) -> Any:
        """Coerce one submitted value, or raise FormError naming this field and why."""
        name = self.name
        if self.kind == "text":
            if not isinstance(raw, str):
                raise FormError(name, f"{self.label}应为文本")
            value = raw.strip()
            if not value and self.required:
                raise FormError(name, f"{self.label}不能为空")
            if len(value) > self.max_length:
                raise FormError(name, f"{self.label}不能超过{self.max_length}字")
            if self.pattern and value and not re.fullmatch(self.pattern, value):
                raise FormError(name, f"{self.label}格式不正确")
            return value
        if self.kind == "choice":
            assert self.choices is not None
            if raw not in self.choices:
                options = "、".join(self.choices.values())
                raise FormError(name, f"{self.label}应为以下之一：{options}")
            return raw
        if self.kind == "bool":
            if not isinstance(raw, bool):
                raise FormError(name, f"{self.label}应为是或否")
            return raw
        if self.kind in ("int", "float"):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise FormError(name, f"{self.label}应为数字")
            if self.kind == "int" and not float(raw).is_integer():
                raise FormError(name, f"{self.label}应为整数")
            num: int | float = int(raw) if self.kind == "int" else float(raw)
            if self.min_value is not None and num < self.min_value:
                raise FormError(name, f"{self.label}不能小于{self.min_value:g}")
            if self.max_value is not None and num > self.max_value:
                raise FormError(name, f"{self.label}不能大于{self.max_value:g}")
            return num
        if self.kind == "date":
            if isinstance(raw, dt.date):
                return raw.isoformat()
            try:
                return dt.date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise FormError(name, f"{self.label}应为有效日期（YYYY-MM-DD）") from None
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class Form:
    fields: tuple[Field, ...] = ()

    def validate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Every field checked, unknown fields refused: a typo must not vanish silently."""
        known = {f.name for f in self.fields} | {"comment"}
        for key in payload:
            if key not in known:
                raise FormError(str(key), "不是此表单的字段")
        out: dict[str, Any] = {}
        for f in self.fields:
            raw = payload.get(f.name)
            if raw is None or raw == "":
                if f.required:
                    raise FormError(f.name, f"{f.label}为必填项")
                continue
            out[f.name] = f.parse(raw)
        comment = payload.get("comment")
        if comment is not None:
            out["comment"] = COMMENT.parse(comment)
        return out


COMMENT = Field("comment", "意见", required=False, max_length=1000)
REASON = Field("reason", "理由", max_length=1000)
