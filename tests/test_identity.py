"""ID numbers and phone numbers: the checks that keep one person from becoming two."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from states.identity import (
    birth_date_of,
    check_digit,
    gender_of,
    make_id_number,
    mask_id_number,
    validate_id_number,
    validate_phone,
)

# The worked example of GB 11643-1999: region 110105, born 1949-12-31, sequence 002.
STANDARD_EXAMPLE = "11010519491231002X"


def test_check_digit_of_the_standard_example() -> None:
    assert check_digit(STANDARD_EXAMPLE[:17]) == "X"


def test_computed_number_is_valid_and_decodes() -> None:
    number = make_id_number("440305", date(1988, 2, 29), 37, "M")
    assert number[:17] == "44030519880229037"
    assert number[17] == check_digit(number[:17])
    assert validate_id_number(number) == number
    assert birth_date_of(number) == date(1988, 2, 29)
    assert gender_of(number) == "M"


def test_lowercase_x_and_spaces_are_normalised() -> None:
    assert validate_id_number(" 11010519491231002x ") == STANDARD_EXAMPLE
    assert gender_of(STANDARD_EXAMPLE) == "F"  # sequence 002 is even


def test_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(ValueError, match=r"校验码错误.*应为X"):
        validate_id_number("110105194912310021")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", "长度应为18位"),
        ("11010519491231002X1", "长度应为18位"),
        ("", "长度应为18位"),
        ("1101051949123100AX", "前17位应全部为数字"),
        ("11010519491231002Y", "最后一位应为数字或X"),
        ("010105194912310020", "地区码无效"),
    ],
)
def test_malformed_numbers_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_id_number(value)


@pytest.mark.parametrize("birth", ["19490230", "19491301", "20230229", "18991231"])
def test_impossible_birth_dates_are_refused_even_with_a_correct_check_digit(birth: str) -> None:
    first17 = f"110105{birth}002"
    with pytest.raises(ValueError, match="出生日期无效"):
        validate_id_number(first17 + check_digit(first17))


def test_make_id_number_follows_the_gender_parity() -> None:
    female = make_id_number("110105", date(1990, 1, 1), 37, "F")  # 37 is odd: bumped to 38
    assert female[14:17] == "038"
    assert gender_of(female) == "F"
    male = make_id_number("110105", date(1990, 1, 1), 999, "M")
    assert male[14:17] == "999"
    assert gender_of(make_id_number("110105", date(1990, 1, 1), 999, "F")) == "F"


@pytest.mark.parametrize(
    ("region", "seq", "gender"),
    [("11010", 1, "M"), ("0101AB", 1, "M"), ("110105", 1000, "M"), ("110105", 1, "X")],
)
def test_make_id_number_refuses_bad_parts(region: str, seq: int, gender: str) -> None:
    with pytest.raises(ValueError):
        make_id_number(region, date(1990, 1, 1), seq, gender)


@given(
    region=st.integers(100000, 999999).map(str),
    birth=st.dates(date(1900, 1, 1), date(2030, 12, 31)),
    seq=st.integers(0, 999),
    gender=st.sampled_from(["M", "F"]),
)
def test_every_made_number_validates_and_round_trips(
    region: str, birth: date, seq: int, gender: str
) -> None:
    number = make_id_number(region, birth, seq, gender)
    assert validate_id_number(number) == number
    assert check_digit(number[:17]) == number[17]
    assert birth_date_of(number) == birth
    assert gender_of(number) == gender


def test_a_single_changed_digit_is_caught() -> None:
    number = make_id_number("320102", date(1975, 6, 15), 123, "M")
    for i in range(17):
        for d in "0123456789":
            if d == number[i]:
                continue
            typo = number[:i] + d + number[i + 1 :]
            try:
                validate_id_number(typo)
            except ValueError:
                continue
            pytest.fail(f"typo at position {i + 1} passed: {typo}")


def test_mask_keeps_region_and_last_four() -> None:
    assert mask_id_number(STANDARD_EXAMPLE) == "110105********002X"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert mask_id_number("123") == "***"


def test_phone_numbers() -> None:
    assert validate_phone("13812345678") == "13812345678"
    assert validate_phone("+86 138-1234-5678") == "13812345678"
    for bad in ("12812345678", "1381234567", "138123456789", "02112345678", "1381234567a"):
        with pytest.raises(ValueError, match="手机号码无效"):
            validate_phone(bad)
