"""Chinese resident ID numbers (居民身份证号) and mainland mobile numbers.

The ID number is the key a teacher is known by across bureaus, recruitment years and
rotations, so a typo must be caught at the door, with a reason the clerk can act on, rather
than turn into a second person. Pure: no database.

Format (GB 11643-1999): 6-digit region code, 8-digit birth date YYYYMMDD, 3-digit sequence
(odd for men, even for women) and an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11

_DIGITS17 = re.compile(r"[0-9]{17}")
_PHONE = re.compile(r"1[3-9][0-9]{9}")
# The oldest birth year a living person's number can carry; earlier years are typos.
_MIN_BIRTH_YEAR = 1900


def check_digit(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits of an ID number."""
    if not _DIGITS17.fullmatch(first17):
        raise ValueError("身份证号前17位应全部为数字")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _birth_date(number: str) -> date:
    """The birth date encoded in positions 7-14, or ValueError when it is no calendar date."""
    digits = number[6:14]
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValueError(f"出生日期无效：{digits}") from None
    if born.year < _MIN_BIRTH_YEAR:
        raise ValueError(f"出生日期无效：{digits}")
    return born


def validate_id_number(value: str) -> str:
    """The number normalised (trimmed, upper-case X), or ValueError naming what is wrong.

    Checks run in the order a clerk would fix them: length, characters, region, birth date,
    then the check character, so the first reason given is the one worth reading.
    """
    number = value.strip().upper()
    if len(number) != 18:
        raise ValueError(f"身份证号长度应为18位，实际为{len(number)}位")
    first17, last = number[:17], number[17]
    if not _DIGITS17.fullmatch(first17):
        raise ValueError("身份证号前17位应全部为数字")
    if not (last.isdigit() or last == "X"):
        raise ValueError("身份证号最后一位应为数字或X")
    if first17[0] == "0":
        raise ValueError(f"地区码无效：{first17[:6]}")
    _birth_date(number)
    expected = check_digit(first17)
    if last != expected:
        raise ValueError(f"校验码错误：最后一位应为{expected}，实际为{last}")
    return number


def make_id_number(region: str, birth: date, seq: int, gender: str) -> str:
    """A valid number for synthetic people; ``seq`` is nudged to the parity ``gender`` needs.

    The parity rule (odd = male) is part of the number, so the sequence is bumped by one
    rather than the gender being trusted to match; the result stays within 000-999. The
    seed calls this for a million people, so the weighted sum is assembled from cached
    partial sums of the region and the date instead of re-reading 17 characters.
    """
    if gender not in ("M", "F"):
        raise ValueError(f"性别应为 M 或 F：{gender}")
    if not 0 <= seq <= 999:
        raise ValueError(f"顺序码应在000-999之间：{seq}")
    if (seq & 1) != (gender == "M"):
        seq = seq + 1 if seq < 999 else seq - 1
    region_sum = _region_part(region)
    date_text, date_sum = _date_part(birth)
    seq_text, seq_sum = _SEQ_PARTS[seq]
    return f"{region}{date_text}{seq_text}{CHECK_CHARS[(region_sum + date_sum + seq_sum) % 11]}"


@lru_cache(maxsize=8192)
def _region_part(region: str) -> int:
    if len(region) != 6 or not region.isdigit() or region[0] == "0":
        raise ValueError(f"地区码应为6位数字且不以0开头：{region}")
    return _weighted(region, 0)


@lru_cache(maxsize=65536)
def _date_part(birth: date) -> tuple[str, int]:
    if birth.year < _MIN_BIRTH_YEAR:
        raise ValueError(f"出生日期无效：{birth.isoformat()}")
    text = f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
    return text, _weighted(text, 6)


def _weighted(digits: str, start: int) -> int:
    return sum(int(c) * w for c, w in zip(digits, WEIGHTS[start:], strict=False))


_SEQ_PARTS = tuple((f"{n:03d}", _weighted(f"{n:03d}", 14)) for n in range(1000))


def birth_date_of(id_number: str) -> date:
    """The birth date a valid number carries."""
    return _birth_date(validate_id_number(id_number))


def gender_of(id_number: str) -> str:
    """'M' or 'F' from the parity of the sequence code."""
    number = validate_id_number(id_number)
    return "M" if int(number[16]) % 2 == 1 else "F"


def mask_id_number(value: str) -> str:
    """Region and the last four only: enough for a clerk to tell people apart on a list
    (publicity pages, exports) without publishing the birth date."""
    number = value.strip().upper()
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def validate_phone(value: str) -> str:
    """A mainland mobile number (11 digits, 1[3-9]...), spaces, dashes and +86 removed."""
    phone = re.sub(r"[\s-]", "", value)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if not _PHONE.fullmatch(phone):
        raise ValueError(f"手机号码无效：{value}（应为11位、以13-19开头）")
    return phone
