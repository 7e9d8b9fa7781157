"""Number literals: the text of one C++ pp-number in, its value out, or gcc's complaint about it.

In:  the text of a pp-number (`42`, `0x1Fu`, `1'000'000`, `2.5f`, `0x1.8p3`, `1e-3`, but also `0xe+1`, `1e`,
     `1.0ff`: C lexes a digit and every letter, digit, `.`, digit separator and exponent sign after it as
     one token, and only then asks whether it is a number).
Out: `number(text)` -> `Number(value, suffix, base, is_float)`: the int or float value (a float's as a
     Python float, rounding to float32 left to the caller), the integer suffix normalised to one of
     `INT_SUFFIXES`' values or the float suffix (`f`, `l` or ""), and the radix; or `LiteralError` with the
     words gcc (C mode) uses: an invalid suffix, an exponent without digits, a hexadecimal float without
     its exponent, too many decimal points, a misplaced digit separator, an invalid octal digit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# C's pp-number, with C++14's digit separators: what the preprocessor and the parser both take as one token.
PP_NUMBER = r"\.?[0-9](?:[eEpP][+-]|'[0-9A-Za-z_]|[0-9A-Za-z_.])*"

# C's, and C++23's size_t ones (`z`: size_t's signed type, `uz`: size_t), which nvcc takes in C++17 as g++ does
INT_SUFFIXES = {"": "", "u": "u", "l": "l", "ul": "ul", "lu": "ul", "ll": "ll", "ull": "ull", "llu": "ull",
                "z": "z", "uz": "uz", "zu": "uz"}
FLOAT_SUFFIXES = {"": "", "f": "f", "F": "f", "l": "l", "L": "l"}


class LiteralError(ValueError):
    """The text is a pp-number but not a number (the message is gcc's)."""


@dataclass(frozen=True)
class Number:
    value: int | float
    suffix: str                 # an INT_SUFFIXES value, or a FLOAT_SUFFIXES value when is_float
    base: int                   # 2, 8, 10 or 16
    is_float: bool


def int_suffix(text: str) -> str | None:
    """The normalised integer suffix for `text` (`uL` -> "ul"), or None when it is none (`lL` mixes cases)."""
    if "lL" in text or "Ll" in text:
        return None
    return INT_SUFFIXES.get(text.lower())


def _separators(text: str, hexa: bool) -> str:
    """`text` without its digit separators, after checking each stands between two digits."""
    if "'" not in text:
        return text
    if "''" in text:
        raise LiteralError("adjacent digit separators")
    exponent = "pP" if hexa else "eE"
    for i, c in enumerate(text):
        if c != "'":
            continue
        # a hex float's exponent is decimal
        digit = "0123456789abcdefABCDEF" if hexa and not any(e in text[:i] for e in exponent) else "0123456789"
        before, after = text[i - 1], text[i + 1:i + 2]
        if i == 2 and text[:2].lower() in ("0x", "0b"):
            raise LiteralError("digit separator after base indicator")
        if "." in (before, after):
            raise LiteralError("digit separator adjacent to decimal point")
        if before in exponent or (after and after in exponent):
            raise LiteralError("digit separator adjacent to exponent")
        if before not in digit or not after or after not in digit:
            raise LiteralError("digit separator outside digit sequence")
    return text.replace("'", "")


_HEX = re.compile(r"0[xX]([0-9a-fA-F]*)(?:(\.)([0-9a-fA-F]*))?")
_DEC = re.compile(r"([0-9]*)(?:(\.)([0-9]*))?")


def number(text: str) -> Number:
    """The value of the pp-number `text` (see the module's docstring); LiteralError when it is none."""
    hexa = text[:2] in ("0x", "0X")
    body = _separators(text, hexa)
    m = (_HEX if hexa else _DEC).match(body)
    whole, point, frac = m.group(1), m.group(2), m.group(3) or ""
    rest = body[m.end():]
    if rest[:1] == ".":
        raise LiteralError("too many decimal points in number")
    exp_letters = "pP" if hexa else "eE"
    exponent = None
    if rest[:1] and rest[0] in exp_letters:
        e = re.match(r"[+-]?[0-9]*", rest[1:])
        if not e.group().lstrip("+-"):
            raise LiteralError("exponent has no digits")
        exponent, rest = rest[1:1 + e.end()], rest[1 + e.end():]
    if point or exponent is not None:
        if hexa and not (whole or frac):
            raise LiteralError("no digits in hexadecimal floating constant")
        if hexa and exponent is None:
            raise LiteralError("hexadecimal floating constants require an exponent")
        if rest not in FLOAT_SUFFIXES:
            raise LiteralError(f"invalid suffix '{rest}' on floating constant")
        mantissa = whole + "." + frac
        try:
            value = float.fromhex(f"0x{mantissa}p{exponent}") if hexa else \
                float(mantissa + ("e" + exponent if exponent is not None else ""))
        except OverflowError:                      # past DBL_MAX: infinity (gcc warns)
            value = float("inf")
        return Number(value, FLOAT_SUFFIXES[rest], 16 if hexa else 10, True)
    if hexa:
        if not whole:
            raise LiteralError(f"invalid suffix '{body[1:]}' on integer constant")
        digits, base = whole, 16
    elif body[:2] in ("0b", "0B"):
        b = re.match(r"[0-9.]*", body[2:]).group()
        bad = re.search(r"[2-9]", b)
        if bad:
            raise LiteralError(f"invalid digit '{bad.group()}' in binary constant")
        b = b.split(".")[0]
        if not b:
            raise LiteralError(f"invalid suffix '{body[1:]}' on integer constant")
        digits, base, rest = b, 2, body[2 + len(b):]
    else:
        digits, base = whole, 8 if len(whole) > 1 and whole[0] == "0" else 10
        bad = re.search(r"[89]", digits) if base == 8 else None
        if bad:
            raise LiteralError(f"invalid digit '{bad.group()}' in octal constant")
    suffix = int_suffix(rest)
    if suffix is None:
        raise LiteralError(f"invalid suffix '{rest}' on integer constant")
    return Number(int(digits, base), suffix, base, False)
