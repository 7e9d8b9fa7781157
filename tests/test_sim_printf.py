"""Simulator: device printf (C formatting, output order)."""
from __future__ import annotations


import numpy as np
import pytest

from sim_helpers import entry, load, params
from vgpu.sim.printf import format_c


def f64(x):
    return (x, "f64")


def i32(x):
    return (x & 0xFFFFFFFF, "u32")


@pytest.mark.parametrize("fmt,args,want", [
    ("%d|%i|%u", [i32(-5), i32(7), i32(-1)], "-5|7|4294967295"),
    ("%5d|%-5d|%05d|%+d|% d", [i32(42)] * 5, "   42|42   |00042|+42| 42"),
    ("%.3d|%x|%X|%#x|%#o|%o|%#x", [i32(7), i32(255), i32(255), i32(255), i32(8), i32(8), i32(0)],
     "007|ff|FF|0xff|010|10|0"),
    ("%lld %llu %lx", [(2 ** 64 - 3, "u64"), (2 ** 64 - 3, "u64"), (2 ** 40, "u64")],
     "-3 18446744073709551613 10000000000"),
    ("%hd %hhu", [i32(0x12345), i32(0x1FF)], "9029 255"),
    ("%f|%.2f|%8.3f|%-8.1f|%e|%.3E", [f64(1.5), f64(3.14159), f64(-2.5), f64(0.25), f64(12345.678), f64(1e-10)],
     "1.500000|3.14|  -2.500|0.2     |1.234568e+04|1.000E-10"),
    ("%g|%g|%g|%G|%.3g|%#g", [f64(0.0001), f64(1e-5), f64(123456789.0), f64(1e20), f64(3.14159), f64(2.0)],
     "0.0001|1e-05|1.23457e+08|1E+20|3.14|2.00000"),
    ("%f %f %F %5.1f %e", [f64(float("inf")), f64(float("-inf")), f64(float("nan")), f64(float("nan")),
                           f64(-float("nan"))], "inf -inf NAN   nan -nan"),
    ("%c%c%c|%5c|%-3c|", [i32(ord("a")), i32(ord("b")), i32(ord("c")), i32(ord("x")), i32(ord("y"))],
     "abc|    x|y  |"),
    ("%s|%.2s|%6s|%-6s|", [(100, "u64")] * 4, "hello|he| hello|hello |"),
    ("%p %p", [(0x100000400, "u64"), (0, "u64")], "0x100000400 (nil)"),
    ("100%% %*d|%-*d|%.*f", [i32(5), i32(42), i32(4), i32(7), i32(2), f64(2.0)], "100%    42|7   |2.00"),
    ("%a", [f64(1.0)], "0x1p+0"),
    ("no args\n", [], "no args\n"),
])
def test_format_like_c(fmt, args, want):
    assert format_c(fmt.encode(), args, lambda addr: "hello") == want


def test_float_argument_from_an_f32_register():
    assert format_c(b"%.1f", [(np.float32(2.5).item(), "f32")], None) == "2.5"


FMT = ", ".join(map(str, b"b%d t%3d %.2f %s\n" + bytes(5)))
PRINTF = entry("hello", ".param .f64 x", """
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %ctaid.x;
    ld.param.f64 %fd1, [x];
    cvt.rn.f64.u32 %fd2, %r1;
    add.rn.f64 %fd2, %fd2, %fd1;
    setp.eq.u32 %p1, %r1, 33;
    @%p1 bra $SKIP;
    mov.u64 %rd1, msg;
    printf fmt, %r2, %r1, %fd2, %rd1;
$SKIP:
    ret;
""", decls=f".const .align 1 .b8 fmt[22] = {{{FMT}}};\n"
           ".global .align 1 .b8 msg[3] = {111, 107, 0};")


def test_printf_end_to_end_order_and_echo(capsys):
    # fmt = "b%d t%3d %.2f %s\n"
    dev, mod = load(PRINTF)
    dev.echo_printf = True
    res = dev.launch(mod, "hello", params(mod, "hello", [0.5]), grid=3, block=(40,))
    want = [f"b{b} t{t:3d} {t + 0.5:.2f} ok\n" for b in range(3) for t in range(40) if t != 33]
    assert res.printf == want
    assert capsys.readouterr().out == "".join(want)


def test_same_bytes_twice():
    dev1, mod1 = load(PRINTF)
    dev2, mod2 = load(PRINTF)
    r1 = dev1.launch(mod1, "hello", params(mod1, "hello", [1.0]), grid=5, block=64)
    r2 = dev2.launch(mod2, "hello", params(mod2, "hello", [1.0]), grid=5, block=64)
    assert r1.printf == r2.printf and r1.stats == r2.stats
    assert r1.printf[:2] == ["b0 t  0 1.00 ok\n", "b0 t  1 2.00 ok\n"] and len(r1.printf) == 5 * 63
