"""The ISA package: spec completeness, assembler/disassembler round trips, assembler diagnostics,
register allocation (interference and spilling), reconvergence points, and instruction selection
on the conformance kernels."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vgpu
from vgpu.diagnostics import CompileError, Span
from vgpu.ir.builder import Builder
from vgpu.ir.nodes import Function, Module, Param
from vgpu.isa import SPEC, assemble, disassemble
from conftest import CONFORMANCE
from vgpu.isa import spec as S
from vgpu.isa.program import (DataSymbol, Imm, Instr, KernelCode, Label, Mem, ParamInfo, Program, Reg, SReg,
                              Sym)
from vgpu.isa.reconv import place_reconvergence
from vgpu.pipeline import compile_source, to_program
from vgpu.isa.regalloc import allocate
from vgpu.isa.select import select_kernels
from vgpu.types import PRED, S32, U64

CORPUS = CONFORMANCE
ROOT = Path(__file__).resolve().parents[1]


# -- spec completeness ------------------------------------------------------------------------------
def test_docs_are_generated_from_the_spec():
    assert S.DOCS_PATH.read_text() == S.render_docs(), "docs/isa.md is stale: python -m vgpu.isa.spec --docs"


@pytest.mark.parametrize("name", list(SPEC))
def test_every_family_is_documented(name):
    assert f"| `{name}` |" in S.DOCS_PATH.read_text()


def _documented_families() -> set[str]:
    return set(re.findall(r"^\| `([a-z][^`]*)` \|", S.DOCS_PATH.read_text(), re.M))   # not the %registers


def test_isa_md_documents_exactly_the_spec():
    """docs/isa.md's table rows name exactly the families of the instruction table."""
    assert _documented_families() == set(SPEC)


@pytest.mark.parametrize("listing", sorted((ROOT / "tests" / "golden").rglob("*.vasm")), ids=lambda p: p.stem)
def test_every_mnemonic_in_a_listing_is_documented(listing):
    """What the compiler emits (the golden listings) is what docs/isa.md describes."""
    documented = _documented_families()
    for line in listing.read_text().splitlines():
        m = re.match(r"\s*(?:@!?%p\d+\s+)?([a-z][a-z0-9_.]*)\s", line)
        if m and not line.lstrip().startswith((".", "//", "$")):
            mnemonic = m.group(1)
            fam = next((f for f in sorted(documented, key=len, reverse=True)
                        if mnemonic == f or mnemonic.startswith(f + ".")), None)
            assert fam is not None, f"{listing.name}: '{mnemonic}' is not in docs/isa.md"


def test_param_layout_is_natural_alignment_for_compiled_and_assembled_code():
    """Each parameter at the next multiple of its size (as PTX lays out .param space), the same for
    the selector's output and for the assembler reading that output back."""
    src = "__global__ void k(char c, double d, short s, int *p, bool b, float f) { p[0] = c + s + b + (int)(d * f); }"
    compiled_prog = compile_source(src, "k.vk")
    compiled = compiled_prog.kernels["k"]
    assembled = assemble(disassemble(compiled_prog), "k.vasm").kernels["k"]
    want = [("c", 0, 1), ("d", 8, 8), ("s", 16, 2), ("p", 24, 8), ("b", 32, 1), ("f", 36, 4)]
    for k in (compiled, assembled):
        assert [(p.name, p.offset, p.size) for p in k.params] == want
        assert k.param_bytes == 40
    assert compiled_prog.kernels["k"].params[4].type.name == "u8"


def test_semantics_names_the_arith_op():
    ins = Instr("setp", ("lt",), ("s32",), [])
    assert S.semantics(ins) == "lt"
    assert S.semantics(Instr("mul", ("hi",), ("s32",), [])) == "mul_hi"
    assert S.semantics(Instr("sin", ("approx",), ("f32",), [])) == "sin_approx"
    assert S.semantics(Instr("min", (), ("f32",), [])) == "fmin"
    assert S.semantics(Instr("min", (), ("s32",), [])) == "min"


# -- random valid instructions of every row (hypothesis) --------------------------------------------
REGS = {"%p": 4, "%rs": 4, "%r": 4, "%rd": 4, "%f": 4, "%fd": 4}


def _reg(draw, classes):
    c = draw(st.sampled_from(sorted(classes)))
    return Reg(f"{c}{draw(st.integers(0, REGS[c] - 1))}")


def _imm(draw, t):
    if t in S.FLOATS:
        if t == "f32":
            return Imm(struct.unpack("<f", struct.pack("<f", draw(st.floats(width=32, allow_nan=False))))[0])
        return Imm(draw(st.floats(allow_nan=False)))
    return Imm(draw(st.integers(-2 ** 31, 2 ** 31 - 1)))


def _operand(draw, kind, ins):
    from vgpu.isa.disasm import operand_type
    t = operand_type(ins, kind)
    if kind in ("d", "dw"):
        return _reg(draw, S.reg_classes_for(t))
    if kind in ("du",):
        return _reg(draw, ("%r",))
    if kind in ("dp", "sp"):
        return _reg(draw, ("%p",))
    if kind in ("s", "sw", "sc"):
        if t == "pred" or draw(st.booleans()):
            return _reg(draw, S.reg_classes_for(t))
        return _imm(draw, t)
    if kind == "su":
        return _reg(draw, ("%r",)) if draw(st.booleans()) else Imm(draw(st.integers(0, 31)))
    if kind == "mv":
        choice = draw(st.integers(0, 3))
        if choice == 0:
            return _reg(draw, S.reg_classes_for(t))
        if choice == 1 and t != "pred":
            return _imm(draw, t)
        if choice == 2 and t in ("u32", "s32", "b32", "u64", "s64", "b64"):
            return SReg(draw(st.sampled_from([r for r, rt in S.SPECIAL_REGS.items()
                                              if S.type_bits(rt) == S.type_bits(t)])))
        if t in ("u64", "b64", "s64"):
            return Sym("table")
        return _reg(draw, S.reg_classes_for(t))
    if kind == "a":
        off = draw(st.integers(-64, 64))
        if "param" in ins.mods:
            return Mem(Sym("n"), off)
        return Mem(_reg(draw, ("%rd",)), off) if draw(st.booleans()) else Mem(Sym("table"), off)
    if kind == "l":
        return Label("$L1")
    if kind == "sym":
        return Sym("$str0")
    raise AssertionError(kind)


@st.composite
def instructions(draw, fam: S.OpSpec):
    types = tuple(draw(st.sampled_from(ts)) for ts in fam.types)
    t0 = types[0] if types else None
    mods = list(fam.fixed)
    for slot in fam.slots:
        ok = [c for c in slot.choices if c not in fam.mod_types or t0 in fam.mod_types[c]]
        required = slot.always or t0 in slot.required_for
        if ok and (required or draw(st.booleans())):
            mods.append(draw(st.sampled_from(ok)))
    ins = Instr(fam.op, tuple(mods), types, [])
    kinds = fam.operand_kinds(ins.mods)
    for kind in kinds:
        if kind == "args":
            ins.operands += [_reg(draw, tuple(REGS)) for _ in range(draw(st.integers(0, 3)))]
        else:
            ins.operands.append(_operand(draw, kind, ins))
    if "guardable" in fam.flags and (fam.name != "bra" or draw(st.booleans())):
        if draw(st.booleans()):
            ins.guard, ins.guard_neg = Reg("%p1"), draw(st.booleans())
    return ins


def _program(instrs: list[Instr]) -> Program:
    prog = Program(filename="t.vasm")
    prog.symbols["table"] = DataSymbol("table", "global", 64, 8, bytes(range(64)))
    prog.symbols["$str0"] = DataSymbol("$str0", "const", 3, 1, b"%d\0")
    k = KernelCode("k", [ParamInfo("n", S32)],
                   instrs=instrs + [Instr("ret", (), (), [])], labels={"$L1": 0}, regs=dict(REGS))
    place_reconvergence(k)
    prog.kernels["k"] = k
    return prog


@pytest.mark.parametrize("name", list(SPEC))
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_round_trip_of_random_instructions(name, data):
    fam = SPEC[name]
    instrs = [data.draw(instructions(fam)) for _ in range(3)]
    for ins in instrs:
        assert S.check_mnemonic(fam, ins.mods, ins.types) is None, ins.mnemonic
    text = disassemble(_program(instrs))
    back = assemble(text, "t.vasm")
    assert disassemble(back) == text
    got = back.kernels["k"].instrs[:-1]
    for a, b in zip(instrs, got):
        assert (a.op, a.mods, a.types, a.guard, a.guard_neg) == (b.op, b.mods, b.types, b.guard, b.guard_neg)
        assert [str(o) for o in a.operands] == [str(o) for o in b.operands]


# -- assembler diagnostics -------------------------------------------------------------------------
HEAD = ".visible .entry k(.param .u64 p)\n{\n.reg .pred %p<2>;\n.reg .b32 %r<5>;\n.reg .b64 %rd<3>;\n"


def _diag(body: str) -> tuple[int, int, str]:
    with pytest.raises(CompileError) as e:
        assemble(HEAD + body + "\nret;\n}\n", "k.vasm")
    d = e.value.diagnostics[0]
    assert str(e.value).startswith(f"k.vasm:{d.span.line}:{d.span.col}: error: ")
    assert "^" in str(e.value)
    return d.span.line, d.span.col, d.message


@pytest.mark.parametrize("body, where, message", [
    ("ad.s32 %r1, %r2, %r3;", (6, 1), "unknown instruction 'ad.s32'; did you mean 'add'?"),
    ("add.b32 %r1, %r2, %r3;", (6, 1), "type .b32 is not allowed for 'add' (allowed: .u16 .s16 .u32 .s32 .u64 "
                                       ".s64 .f16 .f32 .f64)"),
    ("ld.global.f8 %r1, [%rd1];", (6, 1), "unknown type .f8 in 'ld.global.f8'"),
    ("ld.global.f16 %r1, [%rd1];", (6, 15), "register %r1 cannot be a destination of type .f16 (expected %rs)"),
    ("mul.s32 %r1, %r2, %r3;", (6, 1), "'mul.s32' needs one of .lo .hi .wide .rn .rz .rm .rp"),
    ("add.s32 %r1, %r2;", (6, 1), "'add.s32' takes 3 operands, got 2"),
    ("ld.global.s32 %r1, %rd1;", (6, 20), "operand of 'ld.global.s32' must be an address [...]"),
    ("  bra $L7;", (6, 7), "undefined label '$L7'"),
    ("add.s32 %r1, %r9, 1;", (6, 14), "register %r9 is not declared (declared: %r0..%r4)"),
    ("add.s32 %r1, %r2, %rd1;", (6, 19), "register %rd1 cannot be an operand of type .s32 (expected %r)"),
    ("mov.u32 %r1, %tid.w;", (6, 14), "unknown register or special register '%tid.w'"),
    ("ld.global.s32 %r1, [nothere];", (6, 21), "unknown symbol 'nothere'"),
    ("add.s32 %r1 %r2, %r3;", (6, 13), "unexpected '%r2'"),
    ("@%p1 bar.sync 0;", (6, 2), "'bar.sync' cannot be guarded in vgpu: branch around it instead"),
])
def test_assembler_diagnostics(body, where, message):
    line, col, msg = _diag(body)
    assert (line, col) == where
    assert msg == message


def test_initial_bytes_may_stop_short_of_the_size_but_not_pass_it():
    prog = assemble(".global .align 4 .b8 t[8] = {1, 2};\n", "d.vasm")
    assert (prog.symbols["t"].size, prog.symbols["t"].init) == (8, bytes([1, 2]))
    with pytest.raises(CompileError, match="'t' has 3 initial bytes but a size of 2"):
        assemble(".global .align 4 .b8 t[2] = {1, 2, 3};\n", "d.vasm")


def test_assembler_accepts_and_checks_a_hand_written_kernel():
    text = HEAD + "ld.param.u64 %rd1, [p];\nmov.u32 %r1, %tid.x;\nst.global.u32 [%rd1+4], %r1;\nret;\n}\n"
    prog = assemble(text, "k.vasm")
    k = prog.kernels["k"]
    assert [i.mnemonic for i in k.instrs] == ["ld.param.u64", "mov.u32", "st.global.u32", "ret"]
    assert k.instrs[2].operands[0] == Mem(Reg("%rd1"), 4)


# -- reconvergence -----------------------------------------------------------------------------------
def _kernel(body: str) -> KernelCode:
    return assemble(HEAD + body + "}\n", "k.vasm").kernels["k"]


def test_reconvergence_if_else():
    k = _kernel("""setp.lt.s32 %p1, %r1, 0;
    @%p1 bra $L1;
    mov.u32 %r2, 1;
    bra $L2;
$L1:
    mov.u32 %r2, 2;
$L2:
    ret;
""")
    assert k.reconv == {1: k.labels["$L2"]}


def test_reconvergence_loop_with_break():
    k = _kernel("""mov.u32 %r1, 0;
$L1:
    setp.ge.s32 %p1, %r1, 10;
    @%p1 bra $L3;
    setp.eq.s32 %p1, %r1, %r2;
    @%p1 bra $L3;
    add.s32 %r1, %r1, 1;
    bra $L1;
$L3:
    st.global.u32 [%rd1], %r1;
    ret;
""")
    assert k.reconv == {2: k.labels["$L3"], 4: k.labels["$L3"]}


def test_reconvergence_early_return_is_at_exit():
    k = _kernel("""setp.ge.s32 %p1, %r1, %r2;
    @%p1 bra $L1;
    st.global.u32 [%rd1], %r1;
    ret;
$L1:
    ret;
""")
    assert k.reconv == {1: len(k.instrs)}
    assert "// reconverge at exit" in disassemble(assemble(HEAD + """setp.ge.s32 %p1, %r1, %r2;
    @%p1 bra $L1;
    ret;
$L1:
    ret;
}
""", "k.vasm"))


def test_reconvergence_is_recomputed_not_read_from_comments():
    text = HEAD + "setp.lt.s32 %p1, %r1, 0;\n@%p1 bra $L1;  // reconverge $L9\nmov.u32 %r2, 1;\n$L1:\nret;\n}\n"
    k = assemble(text, "k.vasm").kernels["k"]
    assert k.reconv == {1: 3}


# -- register allocation on hand-built IR ------------------------------------------------------------
def _run(k: KernelCode, params: dict[str, int]) -> list[int]:
    """A tiny scalar interpreter for the integer subset the tests below select (one thread)."""
    regs: dict[str, int] = {}
    local: dict[int, int] = {}
    out: list[int] = []
    wrap = lambda v: (v + 2 ** 31) % 2 ** 32 - 2 ** 31  # noqa: E731

    def val(o):
        return o.value if isinstance(o, Imm) else regs[o.name]
    pc, steps = 0, 0
    while pc < len(k.instrs):
        steps += 1
        assert steps < 100000
        i = k.instrs[pc]
        pc += 1
        if i.guard is not None and bool(regs[i.guard.name]) == i.guard_neg:
            continue
        o = i.operands
        if i.op == "ret":
            break
        if i.op == "bra":
            pc = k.labels[o[0].name]
        elif i.op == "ld" and "param" in i.mods:
            regs[o[0].name] = params[o[1].base.name]
        elif i.op == "ld":
            regs[o[0].name] = local[o[1].offset]
        elif i.op == "st" and "local" in i.mods:
            local[o[0].offset] = val(o[1])
        elif i.op == "st":
            out.append(val(o[1]))
        elif i.op == "mov":
            regs[o[0].name] = val(o[1])
        elif i.op in ("add", "sub", "mul", "mad"):
            a, b = val(o[1]), val(o[2])
            r = a + b if i.op == "add" else a - b if i.op == "sub" else a * b
            regs[o[0].name] = wrap(r + (val(o[3]) if i.op == "mad" else 0))
        elif i.op == "setp":
            a, b = val(o[1]), val(o[2])
            regs[o[0].name] = {"lt": a < b, "ge": a >= b, "le": a <= b, "gt": a > b, "eq": a == b,
                               "ne": a != b}[i.mods[0]]
        else:
            raise AssertionError(f"interpreter lacks {i.mnemonic}")
    return out


def _many_live(n_vals: int) -> Module:
    """v_k = x*k + y for k < n_vals, all live across a loop that rotates the first three
    (a parallel-copy cycle), then all stored."""
    ps = [Param("out", U64, 0, S32, True), Param("x", S32, 1), Param("y", S32, 2)]
    fn = Function("many", "kernel", ps, None)
    b = Builder(fn)
    b.span = Span("m.vk", 1, 1)
    e = b.block()
    b.at(e)
    b.seal(e)
    for k in range(n_vals):
        b.write(k, b.emit("add", S32, [b.emit("mul", S32, [ps[1], b.const(S32, k + 1)]), ps[2]]))
    b.write("i", b.const(S32, 0))
    h = b.block()
    ex = b.block()
    b.jmp(h)
    b.at(h)
    a0, a1, a2 = (b.read(k, S32) for k in range(3))
    b.write(0, a1)
    b.write(1, a2)
    b.write(2, a0)
    i1 = b.emit("add", S32, [b.read("i", S32), b.const(S32, 1)])
    b.write("i", i1)
    b.br(b.emit("lt", PRED, [i1, b.const(S32, 4)]), h, ex)
    b.seal(h)
    b.seal(ex)
    b.at(ex)
    for k in range(n_vals):
        b.emit("store", None, [ps[0], b.read(k, S32)], space="global")
    b.ret()
    m = Module(filename="m.vk")
    m.functions["many"] = b.finish()
    return m


def _expected(n_vals: int, x: int, y: int) -> list[int]:
    v = [x * (k + 1) + y for k in range(n_vals)]
    for _ in range(4):
        v[0], v[1], v[2] = v[1], v[2], v[0]
    return v


def test_no_two_live_values_share_a_register():
    m = _many_live(12)
    prog = select_kernels(m)
    k = prog.kernels["many"]
    virtual = _run(k, {"out": 0, "x": 7, "y": -3})
    allocate(k)
    assert all("~" not in str(o) for i in k.instrs for o in i.operands)
    assert _run(k, {"out": 0, "x": 7, "y": -3}) == virtual == _expected(12, 7, -3)
    assert k.regs["%r"] <= 12 + 5          # registers are reused, not one per value


def test_spilling_under_max_registers():
    m = _many_live(12)
    prog = to_program(m, "m.vk", max_registers=8)
    k = prog.kernels["many"]
    assert "__spill" in k.locals
    used = {o.name for i in k.instrs for o in [*i.operands, i.guard] if isinstance(o, Reg)}
    cost = sum(S.REG_CLASSES[re.match(r"%[a-z]+", r).group()][1] for r in used)
    assert cost <= 8
    assert _run(k, {"out": 0, "x": 5, "y": 11}) == _expected(12, 5, 11)
    assert "// spill" in disassemble(prog)


def test_too_few_registers_is_a_compile_error():
    with pytest.raises(CompileError, match="does not fit in 1 registers"):
        to_program(_many_live(4), "m.vk", max_registers=1)


# -- selection on real kernels ---------------------------------------------------------------------
def _tier1() -> list[Path]:
    readme = CORPUS / "README.md"
    if not readme.exists():
        return []
    names = re.findall(r"^\|\s*(\w+)\s*\|\s*1\s*\|", readme.read_text(), re.M)
    return [CORPUS / "kernels" / f"{n}.vk" for n in names]


def _all_kernels() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.vk")) + sorted((CORPUS / "kernels").glob("*.vk"))


@pytest.mark.parametrize("path", _tier1(), ids=lambda p: p.stem)
def test_to_program_on_tier1_kernels(path):
    from vgpu import pipeline
    prog = pipeline.compile_path(path)
    for k in prog.kernels.values():
        assert k.instrs and k.instrs[-1].op in ("ret", "bra", "exit", "trap")
        for pc, ins in enumerate(k.instrs):
            fam = S.family(ins)
            assert fam is not None and S.check_mnemonic(fam, ins.mods, ins.types) is None, ins.mnemonic
            if ins.op == "bra" and ins.guard is not None:
                assert pc in k.reconv
        assert not any(i.op == "mov" and i.operands[0] == i.operands[1] for i in k.instrs)


@pytest.mark.parametrize("path", _all_kernels(), ids=lambda p: p.stem)
def test_listing_round_trips(path):
    from vgpu import pipeline
    prog = pipeline.compile_path(path)
    text = disassemble(prog)
    back = assemble(text, path.stem + ".vasm")
    assert disassemble(back) == text
    for name, k in prog.kernels.items():
        kb = back.kernels[name]
        assert [i.line for i in k.instrs] == [i.line for i in kb.instrs]
        assert kb.reconv == k.reconv and kb.labels == k.labels and kb.regs == k.regs and kb.shared == k.shared


SAXPY = """__global__ void saxpy(float a, const float *x, float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = a * x[i] + y[i];
}
"""


def test_saxpy_listing_shape():
    text = disassemble(vgpu.pipeline.compile_source(SAXPY, "saxpy.vk"))
    assert "\t.param .u64 x,\t// float *x" in text
    assert "\t// saxpy.vk:5  y[i] = a * x[i] + y[i];" in text
    assert "mul.wide.s32" in text or "mad.wide.s32" in text
    assert "mul.rn.f32" in text and "add.rn.f32" in text and "fma" not in text
    assert re.search(r"@%p\d bra \$L\d;\t// reconverge (\$L\d|at exit)", text)


def test_spilled_kernel_runs_like_the_unconstrained_one():
    src = """__global__ void k(const int *x, int *y, int n)
{
    int i = threadIdx.x;
    int a = x[i], b = x[i] * 3, c = x[i] + 7, d = x[i] ^ 5, e = x[i] - 11, f = x[i] * x[i];
    for (int k = 0; k < n; k++) { int t = a; a = b + k; b = c; c = d; d = e; e = f; f = t; }
    y[i] = a + 2 * b + 3 * c + 5 * d + 7 * e + 11 * f;
}
"""
    x = np.arange(64, dtype=np.int32) - 20
    outs = []
    for limit in (None, 6):
        mod = vgpu.compile(src, "spill.vk", max_registers=limit)
        y = vgpu.zeros(64, np.int32)
        mod.get_function("k")(vgpu.to_device(x), y, 9, grid=1, block=64)
        outs.append(y.copy_to_host())
    assert "__spill" in to_program(vgpu.pipeline.to_ir(src, "spill.vk"), "spill.vk", 6).kernels["k"].locals
    np.testing.assert_array_equal(outs[0], outs[1])


def test_selected_warp_and_predicate_patterns_run_correctly():
    """64-bit and 16-bit shuffles (split / widened), select and == of predicates, bar.red, vote."""
    src = r'''
__global__ void k(const double *x, const long long *y, const short *z, double *ox, long long *oy, int *oz,
                  float *of)
{
    int i = threadIdx.x;
    ox[i] = __shfl_down_sync(0xffffffffu, x[i], 3, 16);
    oy[i] = __shfl_xor_sync(0xffffffffu, y[i], 5);
    oz[i] = __shfl_sync(0xffffffffu, z[i], 7);
    of[i] = __shfl_up_sync(0xffffffffu, (float)x[i], 1);
    bool b = x[i] > 0.0, c = y[i] > 0;
    bool s = b ? c : !c;
    oz[32 + i] = s == b;
    oz[64 + i] = __syncthreads_or(i == 7);
    oz[96 + i] = __any_sync(0xffffffffu, x[i] > 1e9);
}
'''
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(32), rng.integers(-2 ** 62, 2 ** 62, 32, dtype=np.int64)
    z = rng.integers(-3000, 3000, 32).astype(np.int16)
    ox, oy = vgpu.zeros(32, np.float64), vgpu.zeros(32, np.int64)
    oz, of = vgpu.zeros(128, np.int32), vgpu.zeros(32, np.float32)
    vgpu.compile(src, "w.vk").get_function("k")(vgpu.to_device(x), vgpu.to_device(y), vgpu.to_device(z),
                                                ox, oy, oz, of, grid=1, block=32)
    lane = np.arange(32)
    np.testing.assert_array_equal(ox.copy_to_host(), np.where(lane % 16 + 3 < 16, x[np.minimum(lane + 3, 31)], x))
    np.testing.assert_array_equal(oy.copy_to_host(), y[lane ^ 5])
    o, f = oz.copy_to_host(), x.astype(np.float32)
    np.testing.assert_array_equal(o[:32], np.full(32, z[7]))
    np.testing.assert_array_equal(of.copy_to_host(), np.where(lane >= 1, f[lane - 1], f))
    b, c = x > 0, y > 0
    np.testing.assert_array_equal(o[32:64], np.where(b, c, ~c) == b)
    assert (o[64:96] == 1).all() and (o[96:] == 0).all()


# -- the pipeline's ISA stages ---------------------------------------------------------------------
def test_listing_shows_the_text_of_header_lines(tmp_path):
    (tmp_path / "h.vkh").write_text("__device__ int twice(int v)\n{\n    return 2 * v;\n}\n")
    (tmp_path / "k.vk").write_text('#include "h.vkh"\n__global__ void k(int *o) { o[0] = twice(o[1]); }\n')
    text = disassemble(vgpu.pipeline.compile_path(tmp_path / "k.vk"))
    assert f"// {tmp_path / 'h.vkh'}:3  return 2 * v;" in text


def test_kernel_totals_beyond_the_device_limits_are_errors_at_the_kernel():
    src = ("__shared__ float a[8192];\n__shared__ float b[8192];\n"
           "__global__ void k(float *o)\n{ o[0] = a[threadIdx.x] + b[threadIdx.x]; }\n"
           "__global__ void fine(float *o) { o[0] = a[threadIdx.x]; }\n")
    with pytest.raises(CompileError) as e:
        compile_source(src, "k.vk")
    (d,) = e.value.diagnostics
    assert d.span.line == 3 and d.message == ("kernel 'k' uses 65536 bytes of static shared memory (a, b), more "
                                              "than a block holds (48 KiB)")


def test_compile_ir_takes_a_module_from_another_front_end():
    m = vgpu.pipeline.to_ir(SAXPY, "saxpy.vk", optimize=False)
    prog = vgpu.pipeline.compile_ir(m, "saxpy.vk", source=SAXPY)
    assert disassemble(prog) == disassemble(compile_source(SAXPY, "saxpy.vk"))
