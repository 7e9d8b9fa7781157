"""The SSA IR: printer/reader round trip, verifier, passes, golden IR of small kernels."""
from __future__ import annotations

import gc
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CONFORMANCE, check_golden
from vgpu.diagnostics import CompileError, Span
from vgpu.frontend import to_ir
from vgpu.ir import OPS, Const, Function, GlobalVar, Instr, Module, Param, optimize, parse_module, \
    print_module, verify
from vgpu.ir.builder import Builder
from vgpu.ir.passes import (eliminate_dead_code, fold_constants, infer_spaces, inline_calls, promote_locals,
                            propagate_copies, simplify_cfg)
from vgpu.types import F32, F64, INTS, PRED, S32, U32, U64, U8, Scalar

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "ir"


def roundtrip(m: Module) -> str:
    text = print_module(m)
    again = print_module(parse_module(text, "t.ir"))
    assert again == text
    return text


def ir(text: str) -> Module:
    m = parse_module(text, "t.ir")
    verify(m)
    return m


def body(m: Module, name: str = "k") -> str:
    """The printed body of one function: its lines between the braces, dedented."""
    lines = print_module(m).split(f"@{name}(", 1)[1].splitlines()[1:]
    return "\n".join(l.strip() for l in lines[:lines.index("}")])


# ------------------------------------------------------------------------------ random modules
TYPES = (PRED, *INTS, F32, F64)


def _const(data, t: Scalar) -> Const:
    if t == PRED:
        return Const(t, data.draw(st.booleans()))
    if t.is_int:
        lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.is_signed else (0, (1 << t.bits) - 1)
        return Const(t, data.draw(st.one_of(st.sampled_from([lo, hi, 0, 1, -1 if lo else 2]),
                                            st.integers(lo, hi))))
    if t == F32:
        bits = data.draw(st.one_of(st.integers(0, 2**32 - 1),
                                   st.sampled_from([0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
                                                    0x7fffffff, 0x00000001, 0x3dcccccd])))
        return Const(t, struct.unpack("<f", struct.pack("<I", bits))[0])
    return Const(t, data.draw(st.one_of(st.floats(), st.sampled_from([-0.0, 0.1, 1e-310, 1e300]))))


class _Gen:
    """Draws a random but well-formed function through the Builder (structured control flow)."""

    def __init__(self, data, m: Module, fn: Function):
        self.d, self.m, self.fn = data, m, fn
        self.b = Builder(fn)
        self.pool: dict[Scalar, list] = {}
        for p in fn.params:
            self.pool.setdefault(p.type, []).append(p)

    def val(self, t: Scalar):
        choices = self.pool.get(t, [])
        if choices and self.d.draw(st.booleans()):
            return self.d.draw(st.sampled_from(choices))
        return _const(self.d, t)

    def keep(self, v):
        self.pool.setdefault(v.type, []).append(v)
        return v

    def run(self, depth: int = 0) -> None:
        for _ in range(self.d.draw(st.integers(0, 6 if depth else 10))):
            getattr(self, "s_" + self.d.draw(st.sampled_from(self.KINDS)))(depth)

    KINDS = ("alu", "alu", "cmp", "cvt", "select", "mem", "var", "var", "branch", "loop", "misc", "call")

    def s_alu(self, depth):
        t = self.d.draw(st.sampled_from((S32, U32, F32, F64, U8, U64)))
        op = self.d.draw(st.sampled_from(("add", "sub", "mul", "div", "rem", "and", "shl", "min", "neg",
                                          "sqrt", "fma")))
        if op in ("and", "shl", "rem") and t.is_float or op in ("sqrt", "fma") and not t.is_float:
            op = "add"
        if op == "shl":
            self.keep(self.b.emit(op, t, [self.val(t), self.val(U32)]))
        else:
            n = OPS[op].nargs
            self.keep(self.b.emit(op, t, [self.val(t) for _ in range(n)]))

    def s_cmp(self, depth):
        t = self.d.draw(st.sampled_from((S32, U32, F32, PRED, U64)))
        op = self.d.draw(st.sampled_from(("eq", "ne", "lt", "le", "gt", "ge")))
        self.keep(self.b.emit(op, PRED, [self.val(t), self.val(t)]))

    def s_cvt(self, depth):
        a, t = self.d.draw(st.sampled_from(TYPES)), self.d.draw(st.sampled_from(TYPES))
        modes = {(True, True): "rni", (True, False): "rzi.sat", (False, True): "rz"}
        mode = self.d.draw(st.sampled_from([None, modes.get((a.is_float, t.is_float))]))
        attrs = {"mode": mode} if mode else {}
        self.keep(self.b.emit("cvt", t, [self.val(a)], **attrs))

    def s_select(self, depth):
        t = self.d.draw(st.sampled_from((S32, F32)))
        self.keep(self.b.emit("select", t, [self.val(PRED), self.val(t), self.val(t)]))

    def s_mem(self, depth):
        t = self.d.draw(st.sampled_from((S32, F32, U64)))
        space = self.d.draw(st.sampled_from(("global", "shared", "generic", "local")))
        addr = self.val(U64)
        kind = self.d.draw(st.sampled_from(("load", "store", "atom", "cas", "addr", "local")))
        if kind == "load":
            self.keep(self.b.emit("load", t, [addr], space=space))
        elif kind == "store":
            self.b.emit("store", None, [addr, self.val(t)], space=space, volatile=self.d.draw(st.booleans()))
        elif kind in ("atom", "cas"):
            t = S32 if t == F32 else t
            args = [addr, self.val(t)] + ([self.val(t)] if kind == "cas" else [])
            a = self.keep(self.b.emit("atom", t, args, space=space))
            a.attrs["op"] = "cas" if kind == "cas" else "max"      # emit() takes `op` itself
        elif kind == "addr" and self.m.globals:
            self.keep(self.b.emit("addr", U64, sym=self.d.draw(st.sampled_from(sorted(self.m.globals)))))
        else:
            self.keep(self.b.emit("local", U64, size=4, align=4))

    def s_var(self, depth):
        var = self.d.draw(st.sampled_from(("i", "x")))
        t = S32 if var == "i" else F32
        if self.d.draw(st.booleans()):
            self.b.write(var, self.val(t))
        else:
            self.keep(self.b.read(var, t))

    def s_misc(self, depth):
        kind = self.d.draw(st.sampled_from(("sreg", "bar", "printf", "vote", "shfl", "membar")))
        b = self.b
        if kind == "sreg":
            self.keep(b.emit("sreg", U32, name=self.d.draw(st.sampled_from(("tid.x", "ctaid.y", "laneid")))))
        elif kind == "bar":
            b.emit("bar", None, mode="sync")
            self.keep(b.emit("bar", S32, [self.val(PRED)], mode="popc"))
        elif kind == "printf":
            fmt = self.d.draw(st.binary(max_size=8)) + b"%d\n\x00"
            b.emit("printf", None, [self.val(S32)], fmt=fmt)
        elif kind == "vote":
            self.keep(b.emit("vote", U32, [self.val(U32), self.val(PRED)], mode="ballot"))
        elif kind == "shfl":
            self.keep(b.emit("shfl", F32, [self.val(U32), self.val(F32), self.val(U32), self.val(S32)],
                             mode="bfly"))
        else:
            b.emit("membar", None, level="gl")

    def s_call(self, depth):
        dev = self.m.functions.get("dev")
        if dev is not None and self.fn is not dev:
            self.keep(self.b.emit("call", S32, [self.val(S32), self.val(F32)], callee="dev"))

    def _scoped(self, depth):
        saved = {t: list(v) for t, v in self.pool.items()}
        self.run(depth + 1)
        self.pool = saved

    def s_branch(self, depth):
        if depth > 2:
            return
        b = self.b
        then, other, join = b.block(), b.block(), b.block()
        b.br(self.val(PRED), then, other)
        for blk in (then, other):
            b.seal(blk)
            b.at(blk)
            self._scoped(depth)
            if self.fn.ret_type is not None and self.d.draw(st.integers(0, 4)) == 0:
                b.ret(self.val(self.fn.ret_type))
            b.jmp(join)
        b.seal(join)
        b.at(join)

    def s_loop(self, depth):
        if depth > 2:
            return
        b = self.b
        head, body_, out = b.block(), b.block(), b.block()
        b.jmp(head)
        b.at(head)
        cond = b.emit("lt", PRED, [b.read("i", S32), self.val(S32)])
        b.br(cond, body_, out)
        b.seal(body_)
        b.at(body_)
        self._scoped(depth)
        b.write("i", b.emit("add", S32, [b.read("i", S32), Const(S32, 1)]))
        b.jmp(head)
        b.seal(head)
        b.seal(out)
        b.at(out)

    def finish(self) -> Function:
        b = self.b
        b.ret(self.val(self.fn.ret_type) if self.fn.ret_type is not None else None)
        return b.finish()


def random_module(data) -> Module:
    m = Module(filename="rt.vk")
    for k in range(data.draw(st.integers(0, 3))):
        space = data.draw(st.sampled_from(("shared", "const", "global")))
        elem = data.draw(st.sampled_from((None, F32, S32, U8)))
        shape = tuple(data.draw(st.lists(st.integers(0, 9), max_size=2))) if elem else ()
        init = data.draw(st.none() | st.binary(max_size=8)) if space != "shared" else None
        m.globals[f"g{k}"] = GlobalVar(f"g{k}", space, data.draw(st.integers(0, 64)), data.draw(
            st.sampled_from((1, 4, 16))), elem, shape, init, data.draw(st.booleans()))
    if data.draw(st.booleans()):
        dev = Function("dev", "device", [Param("a", S32, 0), Param("b", F32, 1)], S32)
        m.functions["dev"] = dev
        g = _Gen(data, m, dev)
        entry = g.b.block()
        g.b.at(entry)
        g.b.seal(entry)
        g.run()
        g.finish()
    params = [Param("x", U64, 0, F32, True), Param("n", S32, 1), Param("p", U64, 2, None, True),
              Param("q", U64, 3)][:data.draw(st.integers(0, 4))]
    k = Function("k", "kernel", params, None, attrs=data.draw(st.sampled_from(
        ({}, {"noinline": True}, {"launch_bounds": [256, 2], "note": "a b\""}))))
    m.functions["k"] = k
    g = _Gen(data, m, k)
    entry = g.b.block()
    g.b.at(entry)
    g.b.seal(entry)
    g.b.span = Span("rt.vk", data.draw(st.integers(1, 3)), 1)
    g.run()
    g.finish()
    return m


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_modules_round_trip_verify_and_optimize(data):
    m = random_module(data)
    verify(m)
    roundtrip(m)
    optimize(m)
    verify(m)
    roundtrip(m)
    assert not any(i.op == "call" for f in m.functions.values() for i in f.instructions())


# ------------------------------------------------------------------------------ printer and reader
SAMPLE = """\
module "k.vk"

shared @tile f32[16][16] size 1024 align 4
shared @dyn f32[0] size 0 align 16 dynamic
const @coef f32[2] size 8 align 4 = "0000803f000000c0"

kernel @k(f32* %x, s32 %n, void* %v) {launch_bounds=(256, 2)} {
bb0:
  ; line 3
  %0 = sreg.u32 tid.x
  %1 = cvt.s32 %0
  %2 = lt.s32 %1, %n
  br %2, bb1, bb2
bb1:
  ; "inc.vkh" line 7
  %3 = addr.u64 @tile
  %4 = load.shared.f32 %3 {volatile=true}
  %5 = atom.global.cas.u32 %v, 0, 4294967295
  %6 = mul.f32 %4, -0.0
  %7 = add.f64 inf, 0x7ff8000000000001
  %8 = select.f32 %2, 0.1, %6
  store.global.f32 %x, %8
  printf "n=%d \\"%s\\"\\n\\x00", %1, u64 0
  %9 = vote.all.pred u32 4294967295, %2
  %10 = bar.popc.s32 %9
  membar.gl
  jmp bb2
bb2:
  %11 = phi.s32 [%1, bb0], [%10, bb1]
  %12 = cvt.s32 f32 1e-45 {mode=rzi.sat}
  ret
}
"""


def test_sample_round_trips_and_verifies():
    m = ir(SAMPLE)
    assert roundtrip(m) == SAMPLE
    k = m.functions["k"]
    assert k.params[0].is_pointer and k.params[0].pointee == F32 and k.params[2].pointee is None
    assert m.globals["coef"].init == struct.pack("<ff", 1.0, -2.0) and m.globals["dyn"].dynamic
    ins = {i.id: i for i in k.instructions() if i.type is not None}
    assert ins[4].attrs == {"space": "shared", "volatile": True}
    assert ins[5].attrs == {"space": "global", "op": "cas"} and ins[5].args[2].value == 0xFFFFFFFF
    assert str(ins[6].args[1].value) == "-0.0"
    bits = struct.unpack("<Q", struct.pack("<d", ins[7].args[1].value))[0]
    assert bits == 0x7ff8000000000001
    assert ins[8].args[1].value == float(struct.unpack("<f", struct.pack("<f", 0.1))[0])
    assert ins[4].span.file == "inc.vkh" and ins[4].span.line == 7 and ins[1].span.line == 3
    printf = next(i for i in k.instructions() if i.op == "printf")
    assert printf.attrs["fmt"] == b'n=%d "%s"\n\x00'
    assert ins[12].attrs["mode"] == "rzi.sat" and ins[12].args[0].type == F32


@pytest.mark.parametrize("text, message", [
    ("kernel @k() {\nbb0:\n  %0 = add.s32 %1, 2\n  ret\n}\n", "3:16: error: unknown value %1"),
    ("kernel @k() {\nbb0:\n  %0 = frob.s32 1\n}\n", "unknown op 'frob'"),
    ("kernel @k() {\nbb0:\n  %0 = add.s32 1 2\n}\n", "3:18: error: unexpected '2'"),
    ("kernel @k() {\nbb0:\n  %0 = add.s32 1.5, 2\n}\n", "'1.5' is not a s32 constant"),
    ("kernel @k() {\nbb0:\n  %0 = add.s32 1, 2\n  %0 = add.s32 1, 2\n}\n", "%0 is defined twice"),
    ("kernel @k() {\nbb0:\n  jmp bb9\n}\n", "unknown block 'bb9'"),
    ("kernel @k() {\nbb0:\n  %0 = cvt.s32 7\n}\n", "the type of '7' is not implied"),
    ("kernel @k() {\n  ret\n}\n", "before the first block label"),
    ("shared @t size 4 align 4 frob\n", "unexpected 'frob'"),
    ("kernel @k(s32 %a {\n", "1:18: error: unexpected '{'"),
])
def test_reader_errors_have_positions(text, message):
    with pytest.raises(CompileError) as e:
        parse_module(text, "bad.ir")
    assert message in str(e.value) and "bad.ir:" in str(e.value)


# ------------------------------------------------------------------------------ verifier
GOOD = """\
kernel @k(s32* %x, s32 %n) {
bb0:
  %0 = sreg.u32 tid.x
  %1 = cvt.s32 %0
  %2 = lt.s32 %1, %n
  br %2, bb1, bb2
bb1:
  %3 = add.s32 %1, 1
  jmp bb2
bb2:
  %4 = phi.s32 [%1, bb0], [%3, bb1]
  store.global.s32 %x, %4
  ret
}
"""


def _broken(old: str, new: str) -> Module:
    assert old in GOOD
    return parse_module(GOOD.replace(old, new), "t.ir")


@pytest.mark.parametrize("old, new, message", [
    ("  jmp bb2\n", "", "does not end with a terminator"),
    ("  %3 = add.s32 %1, 1\n", "  %3 = add.s32 %1, 1\n  ret\n", "terminator in the middle"),
    ("  %4 = phi.s32 [%1, bb0], [%3, bb1]\n  store", "  store.global.s32 %x, %1\n  %4 = phi.s32 [%1, bb0], [%3, bb1]\n  store",
     "phi after a non-phi"),
    ("[%1, bb0], [%3, bb1]", "[%1, bb0]", "are not the predecessors"),
    ("[%1, bb0], [%3, bb1]", "[%1, bb0], [%3, bb0]", "are not the predecessors"),
    ("%3 = add.s32 %1, 1", "%3 = add.s32 %4, 1", "does not dominate"),
    ("[%1, bb0], [%3, bb1]", "[%3, bb0], [%3, bb1]", "does not dominate"),
    ("store.global.s32 %x, %4", "store.global.s32 %x, %3", "does not dominate"),   # bb1 does not dominate bb2
    ("%3 = add.s32 %1, 1", "%3 = add.s32 %0, 1", "operand 1 has type u32, expected s32"),
    ("%2 = lt.s32 %1, %n", "%2 = lt.s32 %1, u32 5", "compared operands differ"),
    ("store.global.s32 %x, %4", "store.global.s32 %1, %4", "(address) has type s32, expected u64"),
    ("br %2, bb1, bb2", "br %1, bb1, bb2", "(condition) has type s32, expected pred"),
    ("store.global.s32", "store.heap.s32", "attrs['space'] is 'heap'"),
    ("%0 = sreg.u32 tid.x", "%0 = sreg.u32 tid.w", "attrs['name'] is 'tid.w'"),
    ("  ret\n", "  ret s32 0\n", "return with a value"),
    ("%3 = add.s32 %1, 1", "%3 = add.s32 %1, 2147483648", "not a s32 value"),
    ("%3 = add.s32 %1, 1", "%3 = shl.s32 %1, s32 1", "(shift amount) has type s32, expected u32"),
    ("%3 = add.s32 %1, 1", "%3 = addr.u64 @nowhere", "unknown symbol @nowhere"),
    ("%3 = add.s32 %1, 1", "%3 = call.s32 @nowhere(%1)", "not a device function"),
    ("%3 = add.s32 %1, 1", "%3 = select.s32 %1, %1, %1", "(condition) has type s32, expected pred"),
    ("%3 = add.s32 %1, 1", "%3 = add.f32 %1, 1.5", "operand 1 has type s32, expected f32"),
])
def test_verifier_catches(old, new, message):
    m = _broken(old, new)
    with pytest.raises(CompileError) as e:
        verify(m)
    text = str(e.value)
    assert message in text and "@k" in text, text


@pytest.mark.parametrize("debug", ["1", ""])
def test_pipeline_verifies_once_unless_debugging(monkeypatch, debug):
    """Outside debug runs the IR is verified once, after the optimiser; VGPU_VERIFY=1 verifies the
    front end's output too, so a malformed module stops before the optimiser sees it."""
    from vgpu import frontend, pipeline
    from vgpu import ir as vir
    monkeypatch.setenv("VGPU_VERIFY", debug)
    broken = _broken("%3 = add.s32 %1, 1", "%3 = add.s32 %4, 1")
    seen = []
    monkeypatch.setattr(frontend, "to_ir", lambda *a, **k: broken)
    monkeypatch.setattr(vir, "optimize", lambda m: seen.append(m) or m)
    with pytest.raises(CompileError, match="does not dominate"):
        pipeline.to_ir("ignored", "t.vk")
    assert seen == ([] if debug else [broken])


def test_verifier_rejects_a_pred_kernel_parameter():
    """A kernel's parameter buffer holds bytes: a bool parameter is u8 (the front end lowers it so)."""
    with pytest.raises(CompileError, match="kernel parameter %b cannot be pred"):
        verify(parse_module("kernel @k(pred %b) {\nbb0:\n  ret\n}\n", "t.ir"))


def test_verifier_names_function_block_and_instruction():
    m = _broken("%3 = add.s32 %1, 1", "%3 = add.s32 %0, 1")
    with pytest.raises(CompileError) as e:
        verify(m)
    assert "in @k, bb1, `%3 = add.s32 %0, 1`" in str(e.value)


def test_verifier_checks_call_arity_and_types():
    text = GOOD + "device s32 @f(s32 %a, f32 %b) {\nbb0:\n  ret %a\n}\n"
    with pytest.raises(CompileError, match="takes 2 argument"):
        verify(parse_module(text.replace("%3 = add.s32 %1, 1", "%3 = call.s32 @f(%1)")))
    with pytest.raises(CompileError, match=r"operand 2 \(parameter %b\) has type s32"):
        verify(parse_module(text.replace("%3 = add.s32 %1, 1", "%3 = call.s32 @f(%1, %1)")))
    verify(parse_module(text.replace("%3 = add.s32 %1, 1", "%3 = call.s32 @f(%1, f32 2.5)")))


def test_verifier_checks_stale_preds_and_foreign_values():
    m = ir(GOOD)
    k = m.functions["k"]
    k.blocks[2].preds.pop()
    with pytest.raises(CompileError, match="preds"):
        verify(m)
    m = ir(GOOD)
    k = m.functions["k"]
    k.blocks[1].instrs[0].args[0] = Instr("add", S32, [Const(S32, 1), Const(S32, 1)])
    with pytest.raises(CompileError, match="not in this function"):
        verify(m)


# ------------------------------------------------------------------------------ passes
def _apply(text: str, *passes) -> str:
    m = ir(text)
    fn = m.functions["k"]
    for p in passes:
        p(fn)
    verify(m)
    roundtrip(m)
    return body(m)


def _k(lines: str, params: str = "s32 %a, s32* %out") -> str:
    return f"kernel @k({params}) {{\n" + lines + "}\n"


def test_fold_uses_c_semantics():
    text = _k("""bb0:
  %0 = div.s32 -7, 2
  %1 = rem.s32 -7, 2
  %2 = add.u32 4294967295, 1
  %3 = shr.s32 -8, 1
  %4 = cvt.s32 f32 -2.7
  %5 = div.u32 1, 0
  %6 = mul.f32 3.0, 0.1
  %7 = lt.f32 0x7fc00000, 1.0
  %8 = cvt.u8 s32 300
  %9 = shl.s32 1, 40
  %10 = select.s32 %7, 100, 200
  store.global.s32 %out, %0
  store.global.s32 %out, %1
  store.global.u32 %out, %2
  store.global.s32 %out, %3
  store.global.s32 %out, %4
  store.global.u32 %out, %5
  store.global.f32 %out, %6
  store.global.u8 %out, %8
  store.global.s32 %out, %9
  store.global.s32 %out, %10
  ret
""")
    assert _apply(text, fold_constants, propagate_copies) == """bb0:
store.global.s32 %out, -3
store.global.s32 %out, -1
store.global.u32 %out, 0
store.global.s32 %out, -4
store.global.s32 %out, -2
store.global.u32 %out, 4294967295
store.global.f32 %out, 0.3
store.global.u8 %out, 44
store.global.s32 %out, 0
store.global.s32 %out, 200
ret"""


def test_fold_integer_identities_but_no_float_ones():
    text = _k("""bb0:
  %0 = cvt.f32 %a
  %1 = add.s32 %a, 0
  %2 = mul.s32 1, %1
  %3 = mul.s32 %2, 0
  %4 = or.s32 %2, 0
  %5 = shl.s32 %4, 0
  %6 = and.s32 %5, -1
  %7 = mul.f32 %0, 1.0
  %8 = add.f32 %0, 0.0
  %9 = add.s32 %6, %3
  store.global.s32 %out, %9
  store.global.f32 %out, %7
  store.global.f32 %out, %8
  ret
""")
    assert _apply(text, fold_constants) == """bb0:
%0 = cvt.f32 %a
%1 = mul.f32 %0, 1.0
%2 = add.f32 %0, 0.0
store.global.s32 %out, %a
store.global.f32 %out, %1
store.global.f32 %out, %2
ret"""


DIAMOND = _k("""bb0:
  %0 = lt.s32 %a, 0
  br %0, bb1, bb2
bb1:
  %1 = neg.s32 %a
  jmp bb3
bb2:
  jmp bb3
bb3:
  %2 = phi.s32 [%1, bb1], [%a, bb2]
  %3 = phi.s32 [%a, bb1], [%a, bb2]
  %4 = cvt.s32 %3
  %5 = mul.s32 %2, %4
  store.global.s32 %out, %5
  ret
""")


def test_copy_propagation():
    assert _apply(DIAMOND, propagate_copies) == """bb0:
%0 = lt.s32 %a, 0
br %0, bb1, bb2
bb1:
%1 = neg.s32 %a
jmp bb3
bb2:
jmp bb3
bb3:
%2 = phi.s32 [%1, bb1], [%a, bb2]
%3 = mul.s32 %2, %a
store.global.s32 %out, %3
ret"""


def test_simplify_cfg_bypasses_empty_blocks_and_merges():
    assert _apply(DIAMOND, simplify_cfg) == """bb0:
%0 = lt.s32 %a, 0
br %0, bb1, bb2
bb1:
%1 = neg.s32 %a
jmp bb2
bb2:
%2 = phi.s32 [%1, bb1], [%a, bb0]
%3 = phi.s32 [%a, bb1], [%a, bb0]
%4 = cvt.s32 %3
%5 = mul.s32 %2, %4
store.global.s32 %out, %5
ret"""


def test_branch_on_constant_folds_and_drops_phi_operands():
    text = DIAMOND.replace("br %0, bb1, bb2", "br true, bb1, bb2")
    assert _apply(text, simplify_cfg, propagate_copies, eliminate_dead_code) == """bb0:
%0 = neg.s32 %a
%1 = mul.s32 %0, %a
store.global.s32 %out, %1
ret"""


def test_dce_removes_dead_values_and_dead_phi_cycles():
    text = _k("""bb0:
  %0 = add.s32 %a, 1
  %1 = local.u64 {size=4}
  %2 = load.global.s32 %out
  jmp bb1
bb1:
  %3 = phi.s32 [0, bb0], [%4, bb1]
  %4 = add.s32 %3, 1
  %5 = lt.s32 %a, 3
  br %5, bb1, bb2
bb2:
  ret
""")
    assert _apply(text, eliminate_dead_code) == """bb0:
%0 = load.global.s32 %out
jmp bb1
bb1:
%1 = lt.s32 %a, 3
br %1, bb1, bb2
bb2:
ret"""


def test_promote_locals_builds_phis():
    text = _k("""bb0:
  %0 = local.u64 {size=4}
  %1 = local.u64 {size=4}
  store.local.s32 %0, 0
  store.local.s32 %1, %a
  %9 = add.u64 %1, 4
  jmp bb1
bb1:
  %2 = load.local.s32 %0
  %3 = lt.s32 %2, %a
  br %3, bb2, bb3
bb2:
  %4 = add.s32 %2, 1
  store.local.s32 %0, %4
  jmp bb1
bb3:
  %5 = load.local.s32 %0
  store.global.s32 %out, %5
  ret
""")
    assert _apply(text, promote_locals, propagate_copies) == """bb0:
%0 = local.u64 {size=4}
store.local.s32 %0, %a
%1 = add.u64 %0, 4
jmp bb1
bb1:
%2 = phi.s32 [0, bb0], [%4, bb2]
%3 = lt.s32 %2, %a
br %3, bb2, bb3
bb2:
%4 = add.s32 %2, 1
jmp bb1
bb3:
store.global.s32 %out, %2
ret"""


def test_infer_spaces():
    m = ir("""shared @s f32[4] size 16 align 4
const @c f32[4] size 16 align 4
kernel @k(f32* %x, u64 %raw, s32 %i) {
bb0:
  %0 = cvt.s64 %i
  %1 = cvt.u64 %0
  %2 = add.u64 %x, %1
  %3 = load.generic.f32 %2
  %4 = addr.u64 @s
  %5 = add.u64 %4, %1
  store.generic.f32 %5, %3
  %6 = addr.u64 @c
  %7 = load.generic.f32 %6
  store.generic.f32 %6, %7
  %8 = lt.s32 %i, 0
  %9 = select.u64 %8, %2, %5
  %10 = load.generic.f32 %9
  %11 = load.generic.u64 %x
  %12 = load.generic.f32 %11
  %13 = local.u64 {size=8}
  %14 = atom.generic.add.s32 %13, %i
  %15 = load.generic.f32 %raw
  jmp bb1
bb1:
  %16 = phi.u64 [%2, bb0], [%17, bb1]
  %17 = add.u64 %16, 4
  %18 = load.generic.f32 %16
  br %8, bb1, bb2
bb2:
  ret
}
""")
    infer_spaces(m.functions["k"], m.globals)
    verify(m)
    spaces = [i.attrs["space"] for i in m.functions["k"].instructions() if "space" in i.attrs]
    assert spaces == ["global", "shared", "const", "generic", "generic", "global", "generic", "local",
                      "generic", "global"]


INLINE = """\
kernel @k(s32 %a, s32* %out) {
bb0:
  %0 = call.s32 @outer(%a)
  %1 = call.s32 @outer(%0)
  store.global.s32 %out, %1
  ret
}

device s32 @outer(s32 %v) {
bb0:
  %0 = call.s32 @absval(%v)
  %1 = add.s32 %0, 1
  ret %1
}

device s32 @absval(s32 %v) {
bb0:
  %0 = lt.s32 %v, 0
  br %0, bb1, bb2
bb1:
  %1 = neg.s32 %v
  ret %1
bb2:
  ret %v
}
"""


def test_inline_nested_calls_with_multiple_returns():
    m = ir(INLINE)
    inline_calls(m)
    verify(m)
    assert list(m.functions) == ["k"]
    roundtrip(m)
    optimize(m)
    verify(m)
    assert body(m) == """bb0:
%0 = lt.s32 %a, 0
br %0, bb1, bb2
bb1:
%1 = neg.s32 %a
jmp bb2
bb2:
%2 = phi.s32 [%1, bb1], [%a, bb0]
%3 = add.s32 %2, 1
%4 = lt.s32 %3, 0
br %4, bb3, bb4
bb3:
%5 = neg.s32 %3
jmp bb4
bb4:
%6 = phi.s32 [%5, bb3], [%3, bb2]
%7 = add.s32 %6, 1
store.global.s32 %out, %7
ret"""


def test_inline_out_parameter_becomes_a_register():
    m = ir("""kernel @k(s32 %a, s32* %out) {
bb0:
  %0 = local.u64 {size=4, align=4}
  call @put(%0, %a)
  %1 = load.generic.s32 %0
  store.generic.s32 %out, %1
  ret
}

device @put(s32* %p, s32 %v) {
bb0:
  %0 = mul.s32 %v, 3
  store.generic.s32 %p, %0
  ret
}
""")
    optimize(m)
    verify(m)
    assert body(m) == """bb0:
%0 = mul.s32 %a, 3
store.global.s32 %out, %0
ret"""


def test_recursion_is_a_compile_error():
    m = parse_module("""kernel @k() {
bb0:
  call @f()
  ret
}
device @f() {
bb0:
  call @f()
  ret
}
""")
    with pytest.raises(CompileError, match="recursion is not supported"):
        inline_calls(m)


# ------------------------------------------------------------------------------ speed
def test_builder_and_passes_scale_linearly():
    """A long function with many variables and loops builds and optimises quickly."""
    fn = Function("k", "kernel", [Param("n", S32, 0), Param("out", U64, 1, S32, True)], None)
    b = Builder(fn)
    entry = b.block()
    b.at(entry)
    b.seal(entry)
    names = [f"v{k}" for k in range(40)]
    for v in names:
        b.write(v, b.emit("add", S32, [fn.params[0], Const(S32, 1)]))
    gc_was = gc.isenabled()
    gc.disable()          # the algorithm's time, not a full collection of the whole test process's objects
    try:
        seconds = _build_and_optimise(fn, b, names)
    finally:
        if gc_was:
            gc.enable()
    assert seconds < 2.0


def _build_and_optimise(fn, b, names) -> float:
    """Seconds to add 60 loops over the variables, finish, optimise and verify."""
    t0 = time.perf_counter()
    for loop in range(60):
        head, body_, out = b.block(), b.block(), b.block()
        b.jmp(head)
        b.at(head)
        b.br(b.emit("lt", PRED, [b.read(names[loop % 40], S32), fn.params[0]]), body_, out)
        b.seal(body_)
        b.at(body_)
        for v in names[loop % 7::7]:
            b.write(v, b.emit("add", S32, [b.read(v, S32), b.read(names[0], S32)]))
        b.jmp(head)
        b.seal(head)
        b.seal(out)
        b.at(out)
    for v in names:
        b.emit("store", None, [fn.params[1], b.read(v, S32)], space="generic")
    b.ret()
    b.finish()
    m = Module({"k": fn})
    optimize(m)
    verify(m)
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------ docs
def test_docs_list_every_op():
    """docs/ir.md's op table is generated from OPS (rewritten by --update-golden)."""
    doc = HERE.parent / "docs" / "ir.md"
    text = doc.read_text()
    begin, end = "<!-- ops:begin -->\n", "<!-- ops:end -->"
    rows = ["| op | operands | result | group | pure | doc |", "| --- | --- | --- | --- | --- | --- |"]
    for o in OPS.values():
        nargs = "any" if o.nargs is None else str(o.nargs)
        rows.append(f"| `{o.name}` | {nargs} | {o.res} | {o.group} | {'yes' if o.pure else 'no'} | "
                    f"{o.doc.replace('|', '/')} |")
    table = "\n".join(rows) + "\n"
    head, rest = text.split(begin, 1)
    actual = head + begin + table + end + rest.split(end, 1)[1]
    check_golden(doc, actual)


def test_docs_example_is_canonical_and_verifies():
    text = (HERE.parent / "docs" / "ir.md").read_text()
    example = text.split("```\n", 2)[1].split("```", 1)[0]
    assert roundtrip(ir(example)) == example


# ------------------------------------------------------------------------------ front end
@pytest.mark.parametrize("src", sorted(GOLDEN.glob("*.vk")), ids=lambda p: p.stem)
def test_golden_ir(src):
    m = to_ir(src.read_text(), src.name)
    verify(m)
    roundtrip(m)
    optimize(m)
    verify(m)
    check_golden(src.with_suffix(".ir"), roundtrip(m))


def _tier1():
    if not CONFORMANCE.is_dir():
        return []
    return sorted((CONFORMANCE / "kernels").glob("*.vk"))


@pytest.mark.parametrize("src", _tier1(), ids=lambda p: p.stem)
def test_conformance_kernels_verify(src):
    """Every conformance kernel compiles (a CompileError fails the test) and its IR verifies,
    round-trips through the text form, and still verifies optimised."""
    m = to_ir(src.read_text(), str(src))
    verify(m)
    roundtrip(m)
    optimize(m)
    verify(m)
    roundtrip(m)
