"""Number literals, checked against g++ (C++17, what nvcc's front end is): which pp-numbers are numbers,
and each number's value and type.

In: pp-numbers drawn from a seeded grammar of decimal, octal, hex and binary integers and decimal and hex
floats, with digit separators, suffixes, exponents and the faults users type (a suffix too many, an
exponent without digits, a second decimal point, a separator in the wrong place, `0xe+1`).
Out: the same verdict as g++ for each (accepted, or rejected with gcc's words), and for the accepted ones
the same value, size, signedness and integer-or-float as g++ computes, through vgpu's whole pipeline.
"""
from __future__ import annotations

import random
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import vgpu
from vgpu.diagnostics import CompileError
from vgpu.frontend.literals import PP_NUMBER, LiteralError, number

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="needs g++ (the independent implementation)")
BAD_SUFFIXES = ["q", "ff", "fl", "lL", "uu", "lll", "x", "_1", "e", "p", "z", "ul2", "lf", "f16"]


def _digits(r: random.Random, alphabet: str, n: int, seps: bool) -> str:
    out = ""
    for i in range(n):
        if seps and i and r.random() < 0.25:
            out += "'"
        out += r.choice(alphabet)
    return out


def draw(r: random.Random) -> str:
    """One pp-number: mostly numbers, a third of them with one fault."""
    seps = r.random() < 0.3
    kind = r.choice(["dec", "oct", "hex", "bin", "float", "float", "hexfloat"])
    if kind == "dec":
        text = r.choice("123456789") + _digits(r, "0123456789", r.randrange(0, 17), seps)
    elif kind == "oct":
        text = "0" + _digits(r, "01234567", r.randrange(0, 20), seps)
    elif kind == "hex":
        text = r.choice(["0x", "0X"]) + _digits(r, "0123456789abcdefABCDEF", r.randrange(1, 15), seps)
    elif kind == "bin":
        text = r.choice(["0b", "0B"]) + _digits(r, "01", r.randrange(1, 40), seps)
    if kind in ("dec", "oct", "hex", "bin"):
        text += r.choice(["", "", "", "u", "U", "l", "L", "ul", "LU", "ll", "ULL", "llu", "uLL", "Ll", "z", "uz", "ZU"])
    else:
        hexa = kind == "hexfloat"
        alphabet = "0123456789abcdef" if hexa else "0123456789"
        whole = _digits(r, alphabet, r.randrange(0 if r.random() < 0.3 else 1, 8), seps)
        frac = _digits(r, alphabet, r.randrange(0, 8), seps)
        text = ("0x" if hexa else "") + whole + "." + frac
        if not whole and not frac:
            text += "5"
        if hexa or r.random() < 0.5:
            text += r.choice("pP" if hexa else "eE") + r.choice(["", "+", "-"]) + str(r.randrange(0, 40))
        text += r.choice(["", "", "f", "F", "l", "L"])
    if r.random() < 0.33:
        fault = r.randrange(6)
        if fault == 0:
            text += r.choice(BAD_SUFFIXES)
        elif fault == 1:
            text = re.sub(r"[0-9]+([fFlL]?)$", r"\1", text) if re.search(r"[eEpP][+-]?[0-9]", text) else text + "e+"
        elif fault == 2:
            text += ".5"
        elif fault == 3 and len(text) > 2:
            i = r.randrange(1, len(text))
            text = text[:i] + "'" + text[i:]
        elif fault == 4:
            text = r.choice(["0xe+1", "0x1e-2", "0xEp", "0b", "0x", "09", "0b102", "0x1.8", "0x.p1", "1..2"])
        else:
            text = text.replace(".", "") if "." in text and ("0x" in text or "0X" in text) else text + "8"
    return text


def corpus(seed: int, n: int) -> list[str]:
    """n distinct pp-numbers (each one token for C's lexer as for vgpu's) from `seed`."""
    r, out = random.Random(seed), []
    while len(out) < n:
        t = draw(r)
        if re.fullmatch(PP_NUMBER, t) and t not in out:
            out.append(t)
    return out


def gxx_errors(lits: list[str], tmp_path) -> dict[int, str]:
    """Index -> g++'s first error for each literal it rejects (one literal per line)."""
    src = tmp_path / "lits.cpp"
    src.write_text("".join(f"auto v{i} = {t};\n" for i, t in enumerate(lits)))
    p = subprocess.run([GXX, "-std=c++17", "-fsyntax-only", "-fmax-errors=0", str(src)],
                       capture_output=True, text=True, timeout=120)
    errors: dict[int, str] = {}
    for m in re.finditer(r"lits\.cpp:(\d+):\d+: error: (.*)", p.stderr):
        errors.setdefault(int(m.group(1)) - 1, m.group(2))
    return errors


def gxx_values(lits: list[str], tmp_path) -> list[str]:
    """g++'s value and type of each literal: `f8 <%a>` for a float (long double as double, as on the
    GPU), `s4 <value>` / `u8 <value>` for an integer."""
    src = tmp_path / "vals.cpp"
    src.write_text("#include <cstdio>\n#include <type_traits>\n"
                   "template <class T> void show(T v) {\n"
                   "  if (std::is_floating_point<T>::value)\n"
                   "    printf(\"f%d %a\\n\", sizeof(T) > 8 ? 8 : (int)sizeof(T), (double)v);\n"
                   "  else printf(\"%c%d %llu\\n\", std::is_signed<T>::value ? 's' : 'u', (int)sizeof(T),"
                   " (unsigned long long)v);\n}\nint main() {\n" + "".join(f"  show({t});\n" for t in lits) +
                   "}\n")
    exe = tmp_path / "vals"
    subprocess.run([GXX, "-std=c++17", "-w", str(src), "-o", str(exe)], check=True, timeout=120)
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()


def vgpu_errors(lits: list[str]) -> dict[int, str]:
    """Index -> vgpu's first error for each literal it rejects (compiled 20 a file, under the error cap)."""
    errors: dict[int, str] = {}
    for lo in range(0, len(lits), 20):
        chunk = lits[lo:lo + 20]
        src = "__global__ void k(double *o)\n{\n" + "".join(f"    o[{i}] = {t};\n" for i, t in enumerate(chunk)) + "}\n"
        try:
            vgpu.compile(src, "lits.vk")
        except CompileError as e:
            for d in e.diagnostics:
                errors.setdefault(lo + d.span.line - 3, d.message)
    return errors


def vgpu_values(lits: list[str], kinds: list[str]) -> list[str]:
    """What vgpu computes for each literal, in gxx_values' form (one thread, through the whole pipeline)."""
    body = "".join(
        f"    sz[{i}] = sizeof({t}); sg[{i}] = ({t}) * 0 - 1 < 0; "
        + (f"d[{i}] = {t};\n" if k[0] == "f" else f"u[{i}] = (unsigned long long)({t});\n")
        for i, (t, k) in enumerate(zip(lits, kinds)))
    src = ("__global__ void k(double *d, unsigned long long *u, int *sz, int *sg)\n{\n" + body + "}\n")
    dev = vgpu.Device(workers=0)
    n = len(lits)
    arrays = [vgpu.to_device(np.zeros(n, t), device=dev) for t in (np.float64, np.uint64, np.int32, np.int32)]
    vgpu.compile(src, "vals.vk").get_function("k")(*arrays, grid=1, block=1, device=dev)
    d, u, sz, sg = (a.copy_to_host() for a in arrays)
    return [f"f{sz[i]} {float(d[i]).hex()}" if k[0] == "f" else f"{'s' if sg[i] else 'u'}{sz[i]} {int(u[i])}"
            for i, k in enumerate(kinds)]


def _hex(line: str) -> str:
    """g++'s `%a` text of a float in Python's float.hex() form."""
    kind, text = line.split(" ", 1)
    return f"{kind} {float.fromhex(text).hex()}" if kind[0] == "f" else line


@needs_gxx
@pytest.mark.parametrize("seed", [1, 2])
def test_literals_agree_with_gxx(seed, tmp_path):
    lits = corpus(seed, 240)
    want_errors = gxx_errors(lits, tmp_path)
    got_errors = vgpu_errors(lits)
    wrong = [(lits[i], want_errors.get(i, "accepted"), got_errors.get(i, "accepted"))
             for i in range(len(lits)) if (i in want_errors) != (i in got_errors)]
    assert not wrong, f"(literal, g++, vgpu) where they disagree: {wrong}"
    assert 40 < len(want_errors) < 160, "the corpus should hold both numbers and faults"
    ok = [t for i, t in enumerate(lits) if i not in want_errors]
    want = [_hex(line) for line in gxx_values(ok, tmp_path)]
    got = vgpu_values(ok, [w.split()[0] for w in want])
    wrong = [(t, w, g) for t, w, g in zip(ok, want, got) if w != g]
    assert not wrong, f"(literal, g++, vgpu) where the values differ: {wrong}"


@pytest.mark.parametrize("text, message", [
    ("0xe+1", "invalid suffix '+1' on integer constant"),
    ("0xfe-1", "invalid suffix '-1' on integer constant"),
    ("1e", "exponent has no digits"),
    ("1.0e+", "exponent has no digits"),
    ("0x1p", "exponent has no digits"),
    ("0x1.8", "hexadecimal floating constants require an exponent"),
    ("0x.p1", "no digits in hexadecimal floating constant"),
    ("1.2.3", "too many decimal points in number"),
    ("1e5.5", "invalid suffix '.5' on floating constant"),
    ("1.0ff", "invalid suffix 'ff' on floating constant"),
    ("100lL", "invalid suffix 'lL' on integer constant"),
    ("08", "invalid digit '8' in octal constant"),
    ("0b102", "invalid digit '2' in binary constant"),
    ("0x", "invalid suffix 'x' on integer constant"),
    ("0x'1", "digit separator after base indicator"),
    ("1.'5", "digit separator adjacent to decimal point"),
    ("1e'5", "digit separator adjacent to exponent"),
    ("1'u", "digit separator outside digit sequence"),
])
def test_faults_are_named_as_gcc_names_them(text, message):
    with pytest.raises(LiteralError, match=re.escape(message)):
        number(text)
    src = f"__global__ void k(double *o)\n{{\n    o[0] = {text};\n}}\n"
    with pytest.raises(CompileError) as e:
        vgpu.compile(src, "bad.vk")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.col, d.message) == (3, 12, message)


@pytest.mark.parametrize("text, value, suffix, base, is_float", [
    ("1'000'000", 1000000, "", 10, False),
    ("0x1'0000'0000ull", 1 << 32, "ull", 16, False),
    ("0b1010'1010u", 170, "u", 2, False),
    ("017", 15, "", 8, False),
    ("0x1.8p3", 12.0, "", 16, True),
    ("0x.8p1f", 1.0, "f", 16, True),
    ("1'024.5e-1'0L", 1024.5e-10, "l", 10, True),
    ("08.5", 8.5, "", 10, True),
    ("0x1p99999", float("inf"), "", 16, True),
    ("1e99999f", float("inf"), "f", 10, True),
    ("09e1", 90.0, "", 10, True),
])
def test_numbers(text, value, suffix, base, is_float):
    n = number(text)
    assert (n.value, n.suffix, n.base, n.is_float) == (value, suffix, base, is_float)


def test_separators_and_hex_floats_in_a_kernel_and_a_macro():
    src = ("#define N 1'024\n#if N > 1000\n#define SCALE 0x1p-2f\n#endif\n"
           "__global__ void k(float *o)\n{\n    o[threadIdx.x] = (threadIdx.x + N) * SCALE;\n}\n")
    dev = vgpu.Device(workers=0)
    out = vgpu.to_device(np.zeros(4, np.float32), device=dev)
    vgpu.compile(src, "sep.vk").get_function("k")(out, grid=1, block=4, device=dev)
    assert out.copy_to_host().tolist() == [256.0, 256.25, 256.5, 256.75]


@pytest.mark.parametrize("cond, taken", [("0b101 == 5", True), ("1'000 == 1000", True), ("10u - 11 > 0", True),
                                         ("10 - 11 > 0", False), ("0x1'0 == 16", True), ("017 == 15", True)])
def test_numbers_in_if_directives(cond, taken):
    src = f"#if {cond}\n#define R 1\n#else\n#define R 2\n#endif\n__global__ void k(int *o) {{ o[0] = R; }}\n"
    dev = vgpu.Device(workers=0)
    out = vgpu.to_device(np.zeros(1, np.int32), device=dev)
    vgpu.compile(src, "if.vk").get_function("k")(out, grid=1, block=1, device=dev)
    assert out.copy_to_host()[0] == (1 if taken else 2)


@pytest.mark.parametrize("cond, message", [("1.5 > 1", "floating constant in preprocessor expression"),
                                           ("0xe+1", "invalid suffix '+1' on integer constant"),
                                           ("1e", "exponent has no digits")])
def test_faulty_numbers_in_if_directives(cond, message):
    src = f"int x;\n#if {cond}\n#endif\n"
    with pytest.raises(CompileError) as e:
        vgpu.compile(src, "if.vk")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.message) == (2, message)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(PP_NUMBER, fullmatch=True))
def test_any_pp_number_is_a_number_or_a_named_fault(text):
    """Whatever a user types that lexes as one pp-number: a value, or LiteralError, never another
    exception; through the compiler, a kernel or a CompileError."""
    try:
        n = number(text)
    except LiteralError:
        n = None
    assert n is None or isinstance(n.value, float if n.is_float else int)
    try:
        vgpu.compile(f"__global__ void k(double *o) {{ o[0] = {text}; }}\n", "pp.vk")
    except CompileError as e:
        assert e.diagnostics and all(d.span.line == 1 for d in e.diagnostics)
