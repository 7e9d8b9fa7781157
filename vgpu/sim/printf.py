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


def _nonfinite(x: float, conv: str, flags: str, width: int | None) -> str:
    s = "nan" if math.isnan(x) else "inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    s = sign + (s.upper() if conv in "FEGA" else s)
    if width:
        s = s.ljust(width) if "-" in flags else s.rjust(width)
    return s


def _hexfloat(x: float, conv: str, flags: str, prec: int | None) -> str:
    h = x.hex()                                   # '-0x1.8000000000000p+1'
    sign = "-" if h.startswith("-") else ("+" if "+" in flags else (" " if " " in flags else ""))
    h = h.lstrip("-")
    mant, exp = h[2:].split("p")
    lead, _, frac = mant.partition(".")
    frac = frac.rstrip("0")
    if prec is not None:
        frac = (frac + "0" * prec)[:prec]
    out = f"{sign}0x{lead}{'.' + frac if frac or '#' in flags else ''}p{int(exp):+d}"
    return out.upper() if conv == "A" else out


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
    if conv in "di":
        v = wrap_int(value, _BITS[length], True) if t not in ("f32", "f64") else int(value)
        return (py + "d") % v
    if conv in "uxXo":
        v = wrap_int(value, _BITS[length], False) if t not in ("f32", "f64") else int(value)
        fl = flags.replace("+", "").replace(" ", "")
        py = _py(fl, width, prec)
        if conv == "u":
            return (py + "d") % v
        if "#" in fl and v == 0:                  # C prints no prefix for zero
            return (py.replace("#", "") + conv) % v
        s = (py + conv) % v
        return s.replace("0o", "0", 1) if conv == "o" else s
    if conv == "c":
        return _pad(chr(int(value) & 0xFF), flags, width)
    if conv == "s":
        s = read_cstring(int(value)) if int(value) else "(null)"
        if prec is not None:
            s = s[:prec]
        return _pad(s, flags, width)
    if conv == "p":
        v = int(value) & (2 ** 64 - 1)
        return _pad("(nil)" if v == 0 else f"{v:#x}", flags, width)
    x = float(value) if t in ("f32", "f64") else float(wrap_int(value, 64, True))
    if not math.isfinite(x):
        return _nonfinite(x, conv, flags, width)
    if conv in "aA":
        return _pad(_hexfloat(x, conv, flags, prec), flags.replace("0", ""), width)
    return (py + conv) % x
