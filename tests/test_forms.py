"""Form validation: every bad field is named, with the reason, in Chinese."""

from __future__ import annotations

import pytest

from states.errors import FormError
from states.process.forms import Field, Form

FORM = Form(
    (
        Field("start", "开始日期", "date"),
        Field("count", "人数", "int", min_value=1, max_value=50),
        Field("level", "学段", "choice", choices={"primary": "小学", "junior": "初中"}),
        Field("note", "备注", required=False, max_length=5),
    )
)
GOOD = {"start": "2026-09-01", "count": 3, "level": "junior"}


def test_valid_form_is_coerced() -> None:
    assert FORM.validate({**GOOD, "comment": "同意"}) == {**GOOD, "comment": "同意"}


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"start": "2026-02-30"}, "start", "有效日期"),
        ({"count": 0}, "count", "不能小于1"),
        ({"count": "三"}, "count", "应为数字"),
        ({"count": 2.5}, "count", "应为整数"),
        ({"level": "college"}, "level", "小学、初中"),
        ({"note": "太长太长太长"}, "note", "不能超过5字"),
        ({"start": None}, "start", "必填"),
        ({"extra": 1}, "extra", "不是此表单的字段"),
    ],
)
def test_bad_field_is_named(patch: dict, field: str, reason: str) -> None:
    with pytest.raises(FormError) as err:
        FORM.validate({**GOOD, **patch})
    assert err.value.field == field
    assert reason in err.value.message
