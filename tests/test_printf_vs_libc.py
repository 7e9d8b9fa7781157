"""Device printf's formatting, checked against the C library's snprintf (glibc, called through ctypes).

In: seeded random conversions (d i u x X o c s p f F e E g G a A %), with flags, widths and precisions
(numbers and `*`, negative ones included), length modifiers, and values at the edges (0, extremes of
each width, -0.0, subnormals, infinities, NaN, values that round up a digit, NULL strings and pointers).
Out: vgpu's text equals glibc's, except where glibc is known to be odd (left out below, each named).
"""
from __future__ import annotations

import ctypes
import math
import platform
import random

import pytest

from vgpu.sim.printf import format_c

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="compares with glibc's snprintf")

FLOATS = [0.0, -0.0, 1.0, 1.5, 0.1, 2.5, 0.5, 1e-310, 5e-324, 1.7976931348623157e308, math.inf, -math.inf,
          math.nan, 123456.789, 1e21, 9.999999e-5, 0.000123456, 1.96875, 0.95, 9.5, 99.5, 0.05, 1e100, 3.0e-5]
INTS = [0, 1, -1, 7, 255, 256, 65535, 65536, 2 ** 31 - 1, -2 ** 31, 2 ** 32 - 1, 2 ** 63 - 1, -2 ** 63]
STRINGS = {0x1000: b"hello", 0x2000: b"", 0x3000: b"a longer string here"}


def c_snprintf(fmt: bytes, cargs: list) -> str:
    libc = ctypes.CDLL(None)
    buf = ctypes.create_string_buffer(4096)
    libc.snprintf(buf, ctypes.c_size_t(4096), fmt, *cargs)
    return buf.value.decode("latin-1")


def draw(r: random.Random) -> tuple[str, list, list]:
    """A format with one conversion, its ctypes arguments for snprintf and its (bits, type) for vgpu."""
    conv = r.choice("diuxXocspfFeEgGaA%")
    flags = "".join(r.sample("-+ #0", r.randrange(0, 3)))
    width = r.choice(["", "", str(r.randrange(0, 25)), "*"])
    prec = r.choice(["", "", ".", "." + str(r.randrange(0, 20)), ".*"])
    length = r.choice(["", "", "h", "hh", "l", "ll"]) if conv in "diuxXo" else ""
    if conv == "%":
        return "%%", [], []
    cargs, args = [], []
    for star in (width == "*", prec == ".*"):
        if star:
            # glibc pads a left-justified float with zeros on the right when a negative `*` width
            # meets the `0` flag; C says `-` overrides `0`
            v = r.randrange(-20 if "0" not in flags else 0, 25)
            cargs.append(ctypes.c_int(v))
            args.append((v & 0xFFFFFFFF, "u32"))
    if conv in "diuxXo":
        bits = 64 if length in ("l", "ll") else 32
        v = r.choice(INTS + [r.randrange(-2 ** 63, 2 ** 64)])
        u = v & ((1 << bits) - 1)
        cargs.append(ctypes.c_longlong(u - (u >> 63 << 64)) if bits == 64 else ctypes.c_int(u - (u >> 31 << 32)))
        args.append((u, "u64" if bits == 64 else "u32"))
    elif conv == "c":
        v = r.randrange(32, 127)
        cargs.append(ctypes.c_int(v))
        args.append((v, "u32"))
    elif conv == "s":
        addr = r.choice(sorted(STRINGS) + [0])
        cargs.append(ctypes.c_char_p(STRINGS[addr] if addr else None))
        args.append((addr, "u64"))
    elif conv == "p":
        v = r.choice([0, 0x1234, 2 ** 63 + 5, r.randrange(2 ** 64)])
        cargs.append(ctypes.c_void_p(v))
        args.append((v, "u64"))
    else:
        if conv in "gG" and "#" in flags:       # glibc: "%#.2G" of 99.5 is "1.E+02" (the carry loses a 0)
            flags = flags.replace("#", "")
        v = r.choice(FLOATS + [r.uniform(-1e6, 1e6), r.uniform(-1, 1) * 10.0 ** r.randrange(-320, 308)])
        cargs.append(ctypes.c_double(v))
        args.append((v, "f64"))
    return f"<%{flags}{width}{prec}{length}{conv}>", cargs, args


@pytest.mark.parametrize("seed", range(4))
def test_printf_formats_as_glibc_does(seed):
    r = random.Random(seed)
    wrong = []
    for _ in range(3000):
        fmt, cargs, args = draw(r)
        want = c_snprintf(fmt.encode(), cargs)
        got = format_c(fmt.encode(), args, lambda a: STRINGS[a].decode())
        if got != want:
            wrong.append((fmt, args, want, got))
    assert not wrong, f"{len(wrong)} differ, e.g. (format, args, glibc, vgpu): {wrong[:5]}"


@pytest.mark.parametrize("fmt, value, want", [
    ("%.a", 1.5, "0x2p+0"),                 # rounded to nearest even: the leading digit becomes 2
    ("%.1a", 1.96875, "0x2.0p+0"),
    ("%.4a", 0.05, "0x1.999ap-5"),
    ("%020a", 1.5, "0x0000000000001.8p+0"),
])
def test_hex_floats_round_and_pad_as_c_does(fmt, value, want):
    assert format_c(fmt.encode(), [(value, "f64")], None) == want


@pytest.mark.parametrize("fmt, value, want", [
    ("%.0d", 0, ""), ("%.x", 0, ""), ("%#.0o", 0, "0"), ("%08.3d", 7, "     007"), ("%#.5o", 8, "00010"),
    ("% u", 5, "5"), ("%#x", 0, "0"), ("%+.0i", 0, "+"),
])
def test_integers_take_precision_as_c_does(fmt, value, want):
    assert format_c(fmt.encode(), [(value, "u32")], None) == want


@pytest.mark.parametrize("fmt, value, want", [("%.3s", 0, ""), ("%s", 0, "(null)"), ("%8.6s", 0, "  (null)"),
                                              ("%p", 0, "(nil)"), ("%10p", 0x1234, "    0x1234"),
                                              ("%+.6p", 0x1234, "+0x001234")])
def test_null_strings_and_pointers_as_glibc_prints_them(fmt, value, want):
    assert format_c(fmt.encode(), [(value, "u64")], None) == want
