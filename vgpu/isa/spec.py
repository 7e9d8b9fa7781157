"""THE instruction table of the virtual ISA: one row per mnemonic family.

In:  nothing (this is data).
Out: `SPEC` (family name -> `OpSpec`) and the queries every other stage derives from it: the
     assembler validates mnemonics and operands with `check`, the disassembler and docs print from
     it, the selector picks register classes with `reg_class`, and the simulator dispatches on
     `family(instr).name` and reads `semantics(instr)` (a `vgpu.arith` op name).

A family is a dotted prefix (`add`, `setp`, `bar.red`, `shfl.sync`); an instruction's text is
`prefix.mods.types` where the modifiers fill the row's `slots` in order and the types fill
`types` (one position, two for cvt).  Operand kinds (column `operands`):

  d     destination register of the class of types[0]
  dw    destination register twice as wide as types[0] (mul.wide, mad.wide)
  du    destination %r register (u32 result: popc, clz, bfind, ffs)
  dp    destination predicate register
  s     source register of types[0]'s class, or an immediate of that type
  sw    source twice as wide as types[0] (mad.wide's addend)
  sc    source of types[1] (cvt), register or immediate
  sp    source predicate register
  su    source u32 register or immediate (shift amounts, barrier ids, lanes, masks)
  mv    mov source: register, immediate, special register, or a symbol (its generic address)
  a     memory address [reg], [reg+off], [sym], [sym+off]
  l     label
  sym   symbol (printf's format string)
  args  zero or more source registers of any class (printf)

`python -m vgpu.isa.spec --docs` rewrites docs/isa.md from this table.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

# -- types and register classes ---------------------------------------------------------------------
ALL_TYPES = ("pred", "b8", "b16", "b32", "b64", "u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64",
             "f16", "f32", "f64")
INTS = ("u16", "s16", "u32", "s32", "u64", "s64")
INT32_64 = ("u32", "s32", "u64", "s64")
FLOATS = ("f16", "f32", "f64")              # f16: IEEE binary16 in a 16-bit %rs register
WIDE_FLOATS = ("f32", "f64")                # the math library rows: no f16 versions
BITS = ("b16", "b32", "b64")
NUMERIC = INTS + FLOATS
MOVABLE = ("pred", "b16", "b32", "b64") + NUMERIC
MEMORY = ("b8", "u8", "s8", "b16", "u16", "s16", "b32", "u32", "s32", "b64", "u64", "s64", "f16", "f32", "f64")
CVT = ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64", "f16", "f32", "f64")

# Register classes: prefix -> (bits, 32-bit registers it costs under max_registers).
REG_CLASSES = {"%p": (1, 0), "%rs": (16, 1), "%r": (32, 1), "%rd": (64, 2), "%f": (32, 1), "%fd": (64, 2)}
REG_DECL_TYPE = {"%p": "pred", "%rs": "b16", "%r": "b32", "%rd": "b64", "%f": "f32", "%fd": "f64"}


def reg_class(t: str) -> str:
    """The register class that holds a value of type `t` (8-bit values live in %rs)."""
    if t == "pred":
        return "%p"
    if t == "f32":
        return "%f"
    if t == "f64":
        return "%fd"
    return {8: "%rs", 16: "%rs", 32: "%r", 64: "%rd"}[type_bits(t)]


def reg_classes_for(t: str) -> tuple[str, ...]:
    """Classes accepted for an operand of type `t`: bN types also take the float class of their
    width (mov.b32 %f1, %r1 is a bitcast) and 8-bit types also take %r, as in PTX."""
    if t in ("b32", "b64"):
        return (reg_class(t), "%f" if t == "b32" else "%fd")
    if type_bits(t) == 8:
        return ("%rs", "%r")
    if t == "b16":
        return ("%rs",)
    return (reg_class(t),)


def type_bits(t: str) -> int:
    return 1 if t == "pred" else int(t[1:])


def wide(t: str) -> str:
    """The type twice as wide (mul.wide.s32 -> s64)."""
    return f"{t[0]}{2 * type_bits(t)}"


# Special registers: name -> (type, what its value varies with): 'thread' (differs per thread of a
# block: %tid, %laneid, %lanemask_*), 'block' (per resident block: %ctaid, %smid, %warpid), 'launch'
# (one value for the launch: %ntid, %nctaid, %nsmid, %nwarpid), 'clock' (read when executed).
_VARIES = {"tid": "thread", "ntid": "launch", "ctaid": "block", "nctaid": "launch", "laneid": "thread",
           "warpid": "block", "nwarpid": "launch", "smid": "block", "nsmid": "launch", "clock": "clock",
           **{f"lanemask_{c}": "thread" for c in ("lt", "le", "eq", "ge", "gt")}}
SPECIALS: dict[str, tuple[str, str]] = {
    **{f"%{r}.{c}": ("u32", _VARIES[r]) for r in ("tid", "ntid", "ctaid", "nctaid") for c in "xyz"},
    **{f"%{r}": ("u32", _VARIES[r]) for r in ("laneid", "warpid", "nwarpid", "smid", "nsmid", "clock",
                                             "lanemask_lt", "lanemask_le", "lanemask_eq", "lanemask_ge",
                                             "lanemask_gt")},
    "%clock64": ("u64", "clock"),
}
SPECIAL_REGS = {name: t for name, (t, _) in SPECIALS.items()}      # name -> type


def special_regs(varies: str) -> tuple[str, ...]:
    """The special registers whose value varies with `varies` ('thread' 'block' 'launch' 'clock')."""
    return tuple(n for n, (_, v) in SPECIALS.items() if v == varies)


SPACES = ("global", "shared", "local", "const", "param")
INT_CMPS = ("eq", "ne", "lt", "le", "gt", "ge")
FLOAT_ONLY_CMPS = ("equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan")
ROUND_F = ("rn", "rz", "rm", "rp")
ROUND_I = ("rni", "rzi", "rmi", "rpi")


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """One modifier position: at most one of `choices`; required when types[0] is in `required_for`."""
    choices: tuple[str, ...]
    required_for: tuple[str, ...] = ()

    @property
    def always(self) -> bool:
        return set(self.required_for) >= set(ALL_TYPES)


def req(*choices: str, when: tuple[str, ...] = ALL_TYPES) -> Slot:
    return Slot(choices, when)


def opt(*choices: str) -> Slot:
    return Slot(choices, ())


@dataclass(frozen=True)
class OpSpec:
    name: str                                   # family: dotted prefix ('add', 'bar.red')
    slots: tuple[Slot, ...]                     # modifier positions after the prefix, in text order
    types: tuple[tuple[str, ...], ...]          # allowed types per suffix position; () = no suffix
    operands: tuple[str, ...]                   # operand kinds (module docstring)
    flags: frozenset[str]                       # branch barrier memory atomic warp terminator side_effects guardable extension
    sem: dict[str, str]                         # modifier / 'float' / '' -> vgpu.arith op (see semantics())
    doc: str
    mod_types: dict[str, tuple[str, ...]] = field(default_factory=dict)   # modifier -> types it allows
    operands_for: dict[str, tuple[str, ...]] = field(default_factory=dict)  # modifier -> other operands
    machine: str = ""           # what the simulator builds (MACHINE); '' = the vgpu.arith op of `sem`
    counter: str = "arith"      # counter class (COUNTER_CLASSES); 'arith' = int, fp32 or fp64 by type
    scope: str = ""             # barrier scope: 'warp', 'block', 'grid' ('' = not a barrier)
    math: bool = False          # a C math library function the front end calls by the family's name
    arg_order: tuple[int, ...] = ()   # source operand positions in the order the arith op takes them

    @property
    def op(self) -> str:
        return self.name.split(".")[0]

    @property
    def fixed(self) -> tuple[str, ...]:
        return tuple(self.name.split(".")[1:])

    def operand_kinds(self, mods: tuple[str, ...]) -> tuple[str, ...]:
        for m in mods:
            if m in self.operands_for:
                return self.operands_for[m]
        return self.operands


G = frozenset({"guardable"})
# The machine operations the simulator implements itself (column `machine`; every other row is an
# arithmetic op of vgpu.arith named by `sem`), and the counter classes of docs/counters.md.
MACHINE = ("move", "load", "store", "atomic", "branch", "exit", "trap", "fence", "barrier", "warp_sync",
           "shuffle", "vote", "activemask", "printf")
COUNTER_CLASSES = ("arith", "move", "memory", "atomic", "control", "sync", "warp", "other")


def _row(name, slots, types, operands, flags, sem, doc, **kw) -> OpSpec:
    """One table row; every instruction may be guarded (@%p) unless `flags` says 'unguarded'.
    Keywords: mod_types, operands_for, machine, counter, scope, math, arg_order (OpSpec's fields)."""
    fl = frozenset(flags.split()) if isinstance(flags, str) else frozenset()
    fl = fl - {"unguarded"} if "unguarded" in fl else fl | G
    if isinstance(sem, str):
        sem = {"": sem} if sem else {}
    return OpSpec(name, tuple(slots), tuple(types), tuple(operands.split()), fl, sem, doc, **kw)


_RF = {m: FLOATS for m in ROUND_F}
_FCMP = {m: FLOATS for m in FLOAT_ONLY_CMPS}
_ARITH2 = "d s s"
_UNARY_EXT = {  # name: doc (CUDA libdevice accuracy, <= 2 ulp; f32 and f64)
    "exp": "e**a (expf/exp)", "exp2": "2**a (exp2f/exp2)", "exp10": "10**a (exp10f/exp10)",
    "log": "natural logarithm (logf/log)", "log2": "base-2 logarithm (log2f/log2)",
    "log10": "base-10 logarithm (log10f/log10)", "tan": "tangent (tanf/tan)",
    "tanh": "hyperbolic tangent (tanhf/tanh)", "asin": "arc sine", "acos": "arc cosine",
    "atan": "arc tangent", "sinh": "hyperbolic sine", "cosh": "hyperbolic cosine",
    "round": "round half away from zero (roundf/round)",
}
_BINARY_EXT = {"pow": "a**b (powf/pow)", "atan2": "atan2(a, b)", "fmod": "C fmod: remainder with a's sign"}

_TABLE = [
    # integer and float arithmetic
    _row("add", [opt(*ROUND_F)], [NUMERIC], _ARITH2, "", "add", "a + b (ints wrap; floats IEEE, .rn default)",
         mod_types=_RF),
    _row("sub", [opt(*ROUND_F)], [NUMERIC], _ARITH2, "", "sub", "a - b", mod_types=_RF),
    _row("mul", [req("lo", "hi", "wide", *ROUND_F, when=INTS)], [NUMERIC], _ARITH2, "",
         {"lo": "mul", "hi": "mul_hi", "wide": "mul_wide", "": "mul"},
         "ints: .lo low half, .hi high half, .wide full product (16->32, 32->64); floats: IEEE product",
         mod_types={"lo": INTS, "hi": INTS, "wide": ("u16", "s16", "u32", "s32"), **_RF},
         operands_for={"wide": ("dw", "s", "s")}),
    _row("mad", [req("lo", "hi", "wide")], [INTS], "d s s s", "", {"lo": "mad_lo", "hi": "mad_hi", "wide": "mad_wide"},
         "integer a*b+c (.lo low half, .hi high half, .wide 32->64); exact, no rounding",
         mod_types={"wide": ("u16", "s16", "u32", "s32")}, operands_for={"wide": ("dw", "s", "s", "sw")}),
    _row("fma", [req(*ROUND_F)], [FLOATS], "d s s s", "", "fma", "fused a*b+c, one rounding"),
    _row("div", [req("rn", "rz", "rm", "rp", "approx", "full", when=FLOATS)], [NUMERIC], _ARITH2, "", "div",
         "ints: C division truncating toward zero; floats: .rn IEEE division",
         mod_types={"approx": ("f32",), "full": ("f32",), **_RF}),
    _row("rem", [], [INTS], _ARITH2, "", "rem", "C remainder (sign of the dividend)"),
    _row("min", [], [NUMERIC], _ARITH2, "", {"float": "fmin", "": "min"},
         "minimum; floats ignore a NaN operand like fminf"),
    _row("max", [], [NUMERIC], _ARITH2, "", {"float": "fmax", "": "max"},
         "maximum; floats ignore a NaN operand like fmaxf"),
    _row("neg", [], [("s16", "s32", "s64") + FLOATS], "d s", "", "neg", "-a"),
    _row("abs", [], [("s16", "s32", "s64") + FLOATS], "d s", "", {"float": "fabs", "": "abs"}, "|a|"),
    # logic and shifts
    _row("and", [], [("pred",) + BITS], _ARITH2, "", "and", "bitwise and"),
    _row("or", [], [("pred",) + BITS], _ARITH2, "", "or", "bitwise or"),
    _row("xor", [], [("pred",) + BITS], _ARITH2, "", "xor", "bitwise exclusive or"),
    _row("not", [], [("pred",) + BITS], "d s", "", "not", "bitwise complement"),
    _row("shl", [], [BITS], "d s su", "", "shl", "shift left by a u32 amount; >= width gives 0"),
    _row("shr", [], [BITS + INTS], "d s su", "", "shr",
         "shift right: .sN arithmetic (>= width fills with the sign), .uN/.bN logical"),
    # float-only hardware instructions
    _row("rcp", [req("rn", "rz", "rm", "rp", "approx")], [FLOATS], "d s", "", "rcp",
         "1/a (.rn IEEE)", mod_types={"approx": ("f32",)}),
    _row("sqrt", [req("rn", "rz", "rm", "rp", "approx")], [FLOATS], "d s", "", "sqrt",
         "square root (.rn IEEE, sqrtf/sqrt)", mod_types={"approx": ("f32",)}),
    _row("rsqrt", [req("approx")], [WIDE_FLOATS], "d s", "", "rsqrt_approx", "1/sqrt(a), hardware approximation (rsqrtf)"),
    _row("ex2", [req("approx")], [("f32",)], "d s", "", "ex2_approx", "2**a, hardware approximation"),
    _row("lg2", [req("approx")], [("f32",)], "d s", "", "lg2_approx", "log2(a), hardware approximation"),
    _row("sin", [opt("approx")], [WIDE_FLOATS], "d s", "", {"approx": "sin_approx", "": "sin"},
         ".approx: hardware sine (__sinf); plain: CUDA sinf/sin (extension)", mod_types={"approx": ("f32",)},
         math=True),
    _row("cos", [opt("approx")], [WIDE_FLOATS], "d s", "", {"approx": "cos_approx", "": "cos"},
         ".approx: hardware cosine (__cosf); plain: CUDA cosf/cos (extension)", mod_types={"approx": ("f32",)},
         math=True),
    *[_row(n, [], [WIDE_FLOATS], "d s", "extension", n, d, math=True) for n, d in _UNARY_EXT.items()],
    *[_row(n, [], [WIDE_FLOATS], "d s s", "extension", n, d, math=True) for n, d in _BINARY_EXT.items()],
    # compare and select
    _row("setp", [req(*INT_CMPS, *FLOAT_ONLY_CMPS)], [("b16", "b32", "b64") + NUMERIC], "dp s s", "",
         {**{c: c for c in INT_CMPS + FLOAT_ONLY_CMPS}, "ne.float": "ne_ordered"},
         "p = a CMP b; float compares are ordered except the u forms (C's != is neu); num/nan test for NaN",
         mod_types=_FCMP),
    _row("selp", [], [("b16", "b32", "b64") + NUMERIC], "d s s sp", "", "select", "d = p ? a : b",
         arg_order=(2, 0, 1)),
    # moves and conversions
    _row("mov", [], [MOVABLE], "d mv", "", "",
         "copy a register, immediate, special register or symbol address; mov.bN between classes is a bitcast",
         machine="move", counter="move"),
    _row("cvt", [opt(*ROUND_F, *ROUND_I), opt("sat")], [CVT, CVT], "d sc", "", "cvt",
         "convert types[1] to types[0] with C semantics: float->int .rzi (C cast) saturates; NaN gives 0 from "
         "f32 to 32 bits, the sign bit alone (0x80000000, 0x8000000000000000) from f64 to 32 bits and from "
         "either to 64 bits; float->16/8-bit goes through the 32-bit conversion and keeps the low bits; "
         ".rni/.rzi/.rmi/.rpi between equal float types round to integral (rint trunc floor ceil); "
         "8-bit sources use the register's low byte, 8-bit results are extended by their own signedness"),
    # bits
    _row("popc", [], [("b32", "b64")], "du s", "", "popc", "number of set bits (u32 result)"),
    _row("clz", [], [("b32", "b64")], "du s", "", "clz", "count leading zeros (u32 result)"),
    _row("brev", [], [("b32", "b64")], "d s", "", "brev", "reverse the bits"),
    _row("bfind", [], [INT32_64], "du s", "", "bfind",
         "position of the most significant non-sign bit, 0xFFFFFFFF if none"),
    _row("ffs", [], [("b32", "b64")], "du s", "extension", "ffs",
         "1 + position of the least significant set bit, 0 if none (CUDA __ffs)"),
    # memory
    _row("ld", [opt("volatile"), opt(*SPACES)], [MEMORY], "d a", "memory", "",
         "load from [addr]; no space: generic (decided by the address); 8/16-bit loads into a wider "
         "register extend by the type's signedness", machine="load", counter="memory"),
    _row("st", [opt("volatile"), opt("global", "shared", "local")], [MEMORY], "a s", "memory side_effects", "",
         "store to [addr]", machine="store", counter="memory"),
    _row("atom", [opt("global", "shared"), req("add", "exch", "cas", "min", "max", "and", "or", "xor", "inc", "dec"),
                  req("noftz", when=("f16",))],
         [("b32", "b64", "u32", "s32", "u64", "s64", "f16", "f32", "f64")], "d a s", "memory atomic side_effects",
         {m: m for m in ("add", "exch", "cas", "min", "max", "and", "or", "xor", "inc", "dec")},
         "atomic read-modify-write of [addr]; d = old value; cas: d, [a], compare, new",
         mod_types={"add": ("u32", "s32", "u64", "f16", "f32", "f64"), "noftz": ("f16",),
                    "exch": ("b32", "b64"), "cas": ("b32", "b64"),
                    "min": INT32_64, "max": INT32_64, "and": ("b32", "b64"), "or": ("b32", "b64"),
                    "xor": ("b32", "b64"), "inc": ("u32",), "dec": ("u32",)},
         operands_for={"cas": ("d", "a", "s", "s")}, machine="atomic", counter="atomic"),
    _row("red", [opt("global", "shared"), req("add", "min", "max", "and", "or", "xor", "inc", "dec"),
                 req("noftz", when=("f16",))],
         [("b32", "b64", "u32", "s32", "u64", "s64", "f16", "f32", "f64")], "a s", "memory atomic side_effects",
         {m: m for m in ("add", "min", "max", "and", "or", "xor", "inc", "dec")},
         "atomic reduction on [addr], no result",
         mod_types={"add": ("u32", "s32", "u64", "f16", "f32", "f64"), "noftz": ("f16",),
                    "min": INT32_64, "max": INT32_64,
                    "and": ("b32", "b64"), "or": ("b32", "b64"), "xor": ("b32", "b64"),
                    "inc": ("u32",), "dec": ("u32",)}, machine="atomic", counter="atomic"),
    # synchronisation
    _row("bar.sync", [], [], "su", "barrier side_effects unguarded", "", "block barrier (__syncthreads); operand: barrier 0",
         machine="barrier", counter="sync", scope="block"),
    _row("bar.red", [req("popc", "and", "or")], [("u32", "pred")], "d su sp", "barrier side_effects unguarded",
         {"popc": "popc", "and": "and", "or": "or"},
         "block barrier reducing p over the block: .popc.u32 count, .and.pred / .or.pred",
         mod_types={"popc": ("u32",), "and": ("pred",), "or": ("pred",)}, machine="barrier", counter="sync",
         scope="block"),
    _row("bar.warp.sync", [], [], "su", "warp side_effects", "", "wait for the lanes of mask (__syncwarp)",
         machine="warp_sync", counter="warp", scope="warp"),
    _row("membar", [req("cta", "gl", "sys")], [], "", "memory side_effects", "",
         "memory fence (__threadfence_block .cta, __threadfence .gl, .sys)", machine="fence", counter="sync"),
    _row("grid.sync", [], [], "", "barrier side_effects extension unguarded", "",
         "grid-wide barrier of a cooperative launch (extension)", machine="barrier", counter="sync", scope="grid"),
    # warp-level
    _row("shfl.sync", [req("idx", "up", "down", "bfly")], [("b32",)], "d s su su su", "warp", "",
         "d = a from the lane chosen by b and mode; c = (32-width)<<8 (up) or that |31; last operand: member mask",
         machine="shuffle", counter="warp"),
    _row("vote.sync", [req("all", "any", "uni", "ballot")], [("pred", "b32")], "d sp su", "warp",
         {"all": "all", "any": "any", "uni": "uni", "ballot": "ballot"},
         ".all/.any/.uni.pred of p over the mask's lanes; .ballot.b32 the mask of lanes where p",
         mod_types={"all": ("pred",), "any": ("pred",), "uni": ("pred",), "ballot": ("b32",)}, machine="vote",
         counter="warp"),
    _row("activemask", [], [("b32",)], "d", "warp", "", "mask of the active lanes",
         machine="activemask", counter="warp"),
    # control
    _row("bra", [], [], "l", "branch", "", "jump; guarded: a potentially divergent branch",
         machine="branch", counter="control"),
    _row("ret", [], [], "", "terminator", "", "return from the kernel (the thread exits)",
         machine="exit", counter="control"),
    _row("exit", [], [], "", "terminator", "", "the thread exits", machine="exit",
         counter="control"),
    _row("trap", [], [], "", "terminator side_effects", "", "abort the kernel with an error",
         machine="trap", counter="control"),
    _row("printf", [], [], "sym args", "side_effects extension", "",
         "device printf of the .const format string with the operands (floats as f64)", machine="printf",
         counter="other"),
]

SPEC: dict[str, OpSpec] = {r.name: r for r in _TABLE}
assert len(SPEC) == len(_TABLE), "duplicate family in the ISA table"
assert all(r.machine in MACHINE or (not r.machine and r.sem) for r in _TABLE), "a row without semantics"
assert all(r.counter in COUNTER_CLASSES for r in _TABLE)
TERMINATORS = tuple(r.name for r in _TABLE if "terminator" in r.flags)     # ret exit trap: the thread leaves
EXTENSION_MATH = tuple(r.name for r in _TABLE if r.math)                  # exp sin pow ...: C math functions
OPERAND_KINDS = ("d", "dw", "du", "dp", "s", "sw", "sc", "sp", "su", "mv", "a", "l", "sym", "args")
assert all(k in OPERAND_KINDS for r in _TABLE for ks in (r.operands, *r.operands_for.values()) for k in ks)


# -- queries --------------------------------------------------------------------------------------
def split_mnemonic(words: list[str]) -> tuple[OpSpec | None, tuple[str, ...], tuple[str, ...]]:
    """Split dotted words ['setp', 'lt', 's32'] into (family, mods, types): the longest family
    prefix, then the trailing words that are type names (as many as the family takes)."""
    fam = None
    for k in range(len(words), 0, -1):
        fam = SPEC.get(".".join(words[:k]))
        if fam is not None:
            break
    if fam is None:
        return None, (), ()
    rest = words[1:]
    n = 0
    while n < len(fam.types) and n < len(rest) and rest[len(rest) - 1 - n] in ALL_TYPES:
        n += 1
    types = tuple(rest[len(rest) - n:]) if n else ()
    mods = tuple(rest[:len(rest) - n])
    return fam, mods, types


def family(instr) -> OpSpec:
    """The row of an `Instr` (by op and mods)."""
    key = (instr.op, tuple(instr.mods), tuple(instr.types))
    fam = _FAMILY.get(key)
    if fam is None:
        fam = _FAMILY[key] = split_mnemonic([instr.op, *instr.mods, *instr.types])[0]
    return fam


_FAMILY: dict[tuple, OpSpec] = {}        # family() by (op, mods, types): selection asks thousands of times


def semantics(instr) -> str | None:
    """The `vgpu.arith` op giving the instruction's semantics: the first of its modifiers with an
    entry in the row's `sem` ('MOD.float' first for float types: PTX's setp.ne.f32 is ordered, C's !=
    is setp.neu), else 'float' when types[0] is f32/f64, else ''; None if no entry."""
    fam = family(instr)
    is_float = bool(instr.types) and instr.types[0] in FLOATS
    for m in instr.mods:
        if is_float and f"{m}.float" in fam.sem:
            return fam.sem[f"{m}.float"]
        if m in fam.sem:
            return fam.sem[m]
    if is_float and "float" in fam.sem:
        return fam.sem["float"]
    return fam.sem.get("")


def rounding(instr) -> str | None:
    """The rounding modifier (rn rz rm rp) of a float instruction other than cvt: the `mode` its vgpu.arith
    op (add sub mul div fma rcp sqrt) rounds in; None for the others."""
    if instr.types and instr.types[0] in FLOATS and len(family(instr).types) == 1:
        return next((m for m in instr.mods if m in ROUND_F), None)
    return None


def check_mnemonic(fam: OpSpec, mods: tuple[str, ...], types: tuple[str, ...]) -> str | None:
    """None if mods and types are valid for the family, else an error message."""
    name = fam.name
    if len(types) != len(fam.types):
        if not fam.types:
            return f"'{name}' takes no type suffix"
        return f"'{name}' needs {len(fam.types)} type suffix{'es' if len(fam.types) > 1 else ''}"
    for t, allowed in zip(types, fam.types):
        if t not in allowed:
            return f"type .{t} is not allowed for '{name}' (allowed: {' '.join('.' + a for a in allowed)})"
    extra = list(mods[len(fam.fixed):]) if mods[:len(fam.fixed)] == fam.fixed else list(mods)
    t0 = types[0] if types else None
    k = 0
    for slot in fam.slots:
        if k < len(extra) and extra[k] in slot.choices:
            m = extra[k]
            if m in fam.mod_types and t0 not in fam.mod_types[m]:
                return f"modifier .{m} is not allowed with .{t0} for '{name}'"
            k += 1
        elif slot.always or (t0 in slot.required_for):
            return f"'{name}{'.' + t0 if t0 else ''}' needs one of " + " ".join("." + c for c in slot.choices)
    if k < len(extra):
        return f"unexpected modifier .{extra[k]} for '{name}'"
    return None


def mnemonics() -> list[str]:
    """Every family name, for 'did you mean' suggestions and completeness tests."""
    return list(SPEC)


# -- docs/isa.md ----------------------------------------------------------------------------------
DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "isa.md"


# the `.var` directives of listings with debug information (vgpu/isa/debuginfo.py)
DEBUG_INFO_DOC = '''## Debug information

`vgpuc asm --debug-info` (`disassemble(program, debug_info=True)`) adds, after a kernel's
`.reg`/`.local` declarations, one `.var` directive per source variable, and the assembler reads them
back into the same `KernelCode.debug_vars` and `debug_ranges` (the text round-trips):

```
.var NAME .TYPE "C type" "file" FIRST LAST "function" : START END LOCATION, START END LOCATION ...;
.var acc .s32 "int" "k.vk" 7 15 "k" : 4 6 0, 6 27 %r4;
.var b .s32 "int" "k.vk" 5 18 "k2" : 12 66 [__spill+16];
.var arr .s32 "int [4]" "k.vk" 12 15 "k" : 3 27 [__local_arr];
```

`NAME` is the variable (`p.x` for a field of a struct variable), `.TYPE` the type of its value (of an
element for an array), then its declared type, its scope (the lines of `file` from FIRST to LAST, in
`function`: the kernel, or a device function inlined into it), and the ranges: from pc START to
before pc END the variable is in LOCATION, a register, a memory operand (`[__spill+N]` a spilled
value, `[__local_NAME]` a local array or a variable whose address is taken, `[PARAM]` a kernel
parameter not loaded yet) or a constant (`0`, `0f3F800000`). Outside its ranges, in scope, a variable is
optimised out. Ranges are computed from the compiler's debug points by a forward dataflow over the
final code (`vgpu/isa/debuginfo.py`): a point sets a location; an instruction writing that register
(or storing to that spill slot) ends it; at a join a location holds only where every incoming path
agrees. Without `--debug-info` listings are unchanged.'''


def render_docs() -> str:
    """The Markdown reference of the ISA, generated from the table."""
    out = ["# The vgpu virtual ISA", "",
           "Generated from `vgpu/isa/spec.py` by `python -m vgpu.isa.spec --docs`; do not edit by hand.", "",
           "Syntax (PTX's): `[@[!]%pN] op.mods.types dst, src, ...;`.  Registers: "
           + ", ".join(f"`{c}<N>` ({REG_DECL_TYPE[c]})" for c in REG_CLASSES) + ".", "",
           "Operand kinds: " + ", ".join(f"`{k}`" for k in OPERAND_KINDS)
           + " (see the docstring of `vgpu/isa/spec.py`).", "",
           "Every instruction may carry a guard `@%p` / `@!%p` except those flagged `unguarded` (barriers: "
           "branch around them instead).", "",
           "| family | modifiers | types | operands | flags | semantics | description |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in _TABLE:
        slots = " ".join(("{" if s.required_for else "[") + " ".join("." + c for c in s.choices)
                         + ("}" if s.required_for else "]") for s in r.slots)
        types = " ".join("{" + " ".join("." + t for t in ts) + "}" for ts in r.types)
        ops = " ".join(r.operands) + "".join(f"; .{m}: {' '.join(o)}" for m, o in r.operands_for.items())
        flags = " ".join(sorted(r.flags - {"guardable"}) + ([] if "guardable" in r.flags else ["unguarded"]))
        sem = ", ".join(f"{k or 'default'}->{v}" for k, v in r.sem.items())
        out.append(f"| `{r.name}` | {slots} | {types} | {ops} | {flags} | {sem} | {r.doc} |")
    out += ["", "Required modifier positions are in braces (required for the types noted in the table's "
            "source), optional ones in brackets.", "",
            "## Special registers", "", "| register | type |", "| --- | --- |",
            *[f"| `{r}` | {t} |" for r, t in SPECIAL_REGS.items()], "",
            *DEBUG_INFO_DOC.splitlines(), "",
            "## Reconvergence", "",
            "Every guarded `bra` reconverges at its immediate post-dominator on the instruction-level CFG "
            "(a virtual exit joins `ret`, `exit` and `trap`); the listing shows it as "
            "`// reconverge $Ln` or `// reconverge at exit`.", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--docs"]:
        DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOCS_PATH.write_text(render_docs())
        print(f"wrote {DOCS_PATH}")
        return 0
    print(render_docs())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
