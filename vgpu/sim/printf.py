"""Device printf: C formatting of one thread's arguments.

In:  the format string (bytes of a .const symbol), the argument values with their register types
     ('u32' 'u64' 'u16' 'f32' 'f64' 'pred': the bits the thread passed), and a function reading a
     NUL-terminated string at a device address (for %s).
Out: the text, formatted as C's printf formats it: conversions d i u x X o c s p f F e E g G a A %%
     with flags (- + space # 0), width and precision (numbers or *), and length modifiers
     (hh h l ll z j t L), which select how many of the argument's bits are read.
"""
from __future__ import annotations

import math
import re

from ..types import wrap_int

_SPEC = re.compile(rb"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|z|j|t|L)?([diuxXocspfFeEgGaA%])")
_BITS = {"hh": 8, "h": 16, None: 32, "l": 64, "ll": 64, "z": 64, "j": 64, "t": 64, "L": 64}


def _sign(negative: bool, flags: str) -> str:
    """The sign a conversion prints: '-', else '+' or ' ' as the flags ask."""
    return "-" if negative else ("+" if "+" in flags else (" " if " " in flags else ""))


def _nonfinite(x: float, conv: str, flags: str, width: int | None) -> str:
    s = "nan" if math.isnan(x) else "inf"
    sign = _sign(math.copysign(1.0, x) < 0, flags)
    s = sign + (s.upper() if conv in "FEGA" else s)
    if width:
        s = s.ljust(width) if "-" in flags else s.rjust(width)
    return s


def _hexfloat(x: float, conv: str, flags: str, width: int | None, prec: int | None) -> str:
    """%a: the sign, `0x`, one leading hex digit, the fraction (all its digits but trailing zeros, or
    `prec` of them rounded to nearest-even, which can make the leading digit 2, as glibc prints it),
    `p` and the binary exponent; the `0` flag pads with zeros after the `0x`."""
    sign = _sign(math.copysign(1.0, x) < 0, flags)
    mant, exp = abs(x).hex()[2:].split("p")      # '1.8000000000000', '+1' (subnormals: '0.00...1')
    lead, _, frac = mant.partition(".")
    if prec is None:
        frac = frac.rstrip("0")
    elif prec < len(frac):
        m, shift = int(lead + frac, 16), 4 * (len(frac) - prec)
        q, rem = divmod(m, 1 << shift)
        half = 1 << (shift - 1)
        q += rem > half or (rem == half and q & 1)
        lead, frac = f"{q >> (4 * prec):x}", f"{q & ((1 << (4 * prec)) - 1):0{prec}x}" if prec else ""
    else:
        frac = frac + "0" * (prec - len(frac))
    body = f"{lead}{'.' + frac if frac or '#' in flags else ''}p{int(exp):+d}"
    prefix = sign + "0x"
    if width and "0" in flags and "-" not in flags:
        body = body.rjust(width - len(prefix), "0")
    out = prefix + body
    return out.upper() if conv == "A" else out


def _integer(conv: str, flags: str, width: int | None, prec: int | None, v: int, sign: bool = False) -> str:
    """d i u x X o as C prints them: a precision is the least number of digits (0 with `.0` prints none)
    and turns the `0` flag off; `#` puts 0x before nonzero hex and makes octal start with 0; `sign`:
    the `+` and space flags apply to an unsigned conversion too (glibc's %p)."""
    digits = "" if prec == 0 and v == 0 else format(abs(v), {"x": "x", "X": "X", "o": "o"}.get(conv, "d"))
    if prec is not None:
        digits = digits.rjust(prec, "0")
    prefix = ""
    if conv in "di":
        prefix = _sign(v < 0, flags)
    elif "#" in flags and conv == "o" and not digits.startswith("0"):
        digits = "0" + digits
    elif "#" in flags and conv in "xX" and v != 0:
        prefix = (_sign(False, flags) if sign else "") + "0" + conv
    if width and "0" in flags and "-" not in flags and prec is None:
        digits = digits.rjust(width - len(prefix), "0")
    return _pad(prefix + digits, flags, width)


def format_c(fmt: bytes, args: list[tuple[object, str]], read_cstring) -> str:
    """`fmt` % `args` as device printf formats it (see the module docstring)."""
    out = []
    pos = 0
    k = 0

    def take():
        nonlocal k
        if k >= len(args):
            return 0, "u32"
        k += 1
        return args[k - 1]

    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()].decode("latin-1"))
        pos = m.end()
        flags, width, prec, length, conv = (g.decode() if g is not None else None for g in m.groups())
        flags = flags or ""
        if conv == "%":
            out.append("%")
            continue
        if width == "*":
            width = wrap_int(take()[0], 32, True)
            if width < 0:
                flags, width = flags + "-", -width
        width = int(width) if width else None
        if prec == "*":
            prec = wrap_int(take()[0], 32, True)
            prec = None if prec < 0 else prec
        elif prec is not None:
            prec = int(prec or 0)
        value, t = take()
        out.append(_one(conv, flags, width, prec, length, value, t, read_cstring))
    out.append(fmt[pos:].decode("latin-1"))
    return "".join(out)


def _pad(s: str, flags: str, width: int | None) -> str:
    if width and len(s) < width:
        return s.ljust(width) if "-" in flags else s.rjust(width)
    return s


def _py(flags: str, width: int | None, prec: int | None) -> str:
    """A Python %-format prefix with these flags, width and precision."""
    return "%" + flags + (str(width) if width else "") + ("." + str(prec) if prec is not None else "")


def _one(conv, flags, width, prec, length, value, t, read_cstring) -> str:
    py = _py(flags, width, prec)
    if conv in "diuxXo":
        signed = conv in "di"
        v = wrap_int(value, _BITS[length], signed) if t not in ("f32", "f64") else int(value)
        return _integer(conv, flags, width, prec, v)
    if conv == "c":
        return _pad(chr(int(value) & 0xFF), flags, width)
    if conv == "s":
        if int(value):
            s = read_cstring(int(value))
        else:                                     # glibc: "(null)", or nothing where it would be cut
            s = "(null)" if prec is None or prec >= 6 else ""
        return _pad(s[:prec] if prec is not None else s, flags, width)
    if conv == "p":                               # glibc: %#lx with every flag, or "(nil)"
        v = int(value) & (2 ** 64 - 1)
        return _pad("(nil)", flags, width) if v == 0 else _integer("x", flags + "#", width, prec, v, sign=True)
    x = float(value) if t in ("f32", "f64") else float(wrap_int(value, 64, True))
    if not math.isfinite(x):
        return _nonfinite(x, conv, flags, width)
    if conv in "aA":
        return _pad(_hexfloat(x, conv, flags, width, prec), flags, width)
    return (py + conv) % x
