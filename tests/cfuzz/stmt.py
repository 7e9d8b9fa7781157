"""Random statements over a context, as a small tree that renders to `.vk` and to the C harness.

In: a `Ctx` (what is readable and writable where, with value ranges) and a random source.  Out: lists of
`Stmt` (Line, If, For, While, Switch) whose `render(lang)` gives `.vk` text or C text (markers of expr.py
resolved; `return;` of a kernel becomes "mark this thread done" in C).  Every assignment keeps its target's
proven range (`& (2^k-1)` or `% (R+1)` when the value could leave it); loops have bounded trip counts that
depend on the thread; `continue` can never skip a loop counter's increment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .ctype import F32, F64, I32, U32, U64, Ty, promote
from .expr import E, ExprGen, conv, reduce_mod


@dataclass
class Var:
    name: str
    ty: Ty
    lo: int | None = None
    hi: int | None = None
    state: bool = False          # a kernel-level per-thread variable (C: a field of the thread's state)
    readonly: bool = False

    @property
    def ref(self) -> str:
        return ("$" if self.state else "") + self.name

    def e(self) -> E:
        return E(self.ref, self.ty, self.lo, self.hi)

    @property
    def full(self) -> bool:
        return self.ty.flt or (self.lo == self.ty.lo and self.hi == self.ty.hi)


@dataclass
class Arr:
    name: str
    ty: Ty
    size: int                    # a power of two
    state: bool = True
    readonly: bool = False       # __constant__ and read-only __device__ arrays of the header


@dataclass
class StructDef:
    name: str                    # as spelled in declarations: "struct S0" or a typedef name
    fields: list                 # [(name, Ty)]
    vector: bool = False         # a CUDA vector type (float4 ...), made with make_float4(...)


@dataclass
class SVar:
    name: str
    sdef: StructDef
    count: int = 0               # 0: a single struct, else an array of that many (power of two)
    state: bool = True


@dataclass
class Macro:
    name: str
    text: str                    # the #define line(s)
    e: E | None = None           # object-like: its value
    fn: object = None            # function-like: E -> E | None (None: the expansion could be undefined)
    flt: bool = False


@dataclass
class Helper:
    name: str
    ret: Ty
    params: list


@dataclass
class Shared:
    name: str
    ty: Ty
    per_thread: int              # slots owned by each thread (power of two)
    size: int
    mode: str = "w"              # w: each thread writes its own slots; r: everyone reads; a: atomics only
    layout: str = "1d"           # 1d, 2d ([threads][per_thread]) or extern (extern __shared__ T x[], sized at launch)
    atomic_ops: list = field(default_factory=list)


def resolve(text: str, lang: str) -> str:
    """Resolve the markers: `$x` (per-thread kernel variable), `@fn_ty(` (type-suffixed in C)."""
    if lang == "vk":
        text = re.sub(r"\$(\w+)", r"\1", text)
        return re.sub(r"@(\w+?)_\w+\(", r"\1(", text)
    text = re.sub(r"\$(\w+)", r"S->\1", text)
    return re.sub(r"@(\w+)\(", r"\1(", text)


class Stmt:
    removable = True

    def render(self, lang: str, ind: str) -> str:
        raise NotImplementedError

    def lists(self) -> list:
        return []


class Line(Stmt):
    def __init__(self, text: str, removable: bool = True):
        self.text, self.removable = text, removable

    def render(self, lang, ind):
        if self.text == "RETURN":
            return ind + ("return;" if lang == "vk" else "{ S->done_ = 1; return; }") + "\n"
        return ind + resolve(self.text, lang) + "\n"


class Decl(Stmt):
    """A kernel-level per-thread variable: `.vk` declares it here; C has it in the thread's state."""
    removable = False

    def __init__(self, spell: str, name: str, suffix: str = "", init: str | None = None):
        self.spell, self.name, self.suffix, self.init = spell, name, suffix, init

    def render(self, lang, ind):
        if lang == "vk":
            return ind + f"{self.spell} {self.name}{self.suffix}" + \
                (f" = {resolve(self.init, lang)};" if self.init else ";") + "\n"
        return ind + f"S->{self.name} = {resolve(self.init, lang)};\n" if self.init else ""


def _body(stmts, lang, ind):
    return "".join(s.render(lang, ind + "    ") for s in stmts)


class If(Stmt):
    def __init__(self, cond, then, els=None):
        self.cond, self.then, self.els = cond, then, els

    def render(self, lang, ind):
        out = f"{ind}if ({resolve(self.cond, lang)}) {{\n{_body(self.then, lang, ind)}{ind}}}"
        if self.els is not None:
            out += f" else {{\n{_body(self.els, lang, ind)}{ind}}}"
        return out + "\n"

    def lists(self):
        return [self.then] + ([self.els] if self.els is not None else [])


class For(Stmt):
    def __init__(self, header, body):
        self.header, self.body = header, body

    def render(self, lang, ind):
        return f"{ind}for ({resolve(self.header, lang)}) {{\n{_body(self.body, lang, ind)}{ind}}}\n"

    def lists(self):
        return [self.body]


class While(Stmt):
    """`{ int w = 0; while (w < B) { w++; ... } }` (or do-while): the counter moves first, so `continue`
    cannot skip it."""

    def __init__(self, var, bound, body, do):
        self.var, self.bound, self.body, self.do = var, bound, body, do

    def render(self, lang, ind):
        b, v = resolve(self.bound, lang), self.var
        inner = f"{ind}    {v}++;\n{_body(self.body, lang, ind)}"
        if self.do:
            return f"{ind}{{\n{ind}int {v} = 0;\n{ind}do {{\n{inner}{ind}}} while ({v} < {b});\n{ind}}}\n"
        return f"{ind}{{\n{ind}int {v} = 0;\n{ind}while ({v} < {b}) {{\n{inner}{ind}}}\n{ind}}}\n"

    def lists(self):
        return [self.body]


class Switch(Stmt):
    def __init__(self, expr, cases, default):
        self.expr, self.cases, self.default = expr, cases, default

    def render(self, lang, ind):
        out = f"{ind}switch ({resolve(self.expr, lang)}) {{\n"
        for labels, body, brk in self.cases:
            out += "".join(f"{ind}case {lab}:\n" for lab in labels)
            out += _body(body, lang, ind) + (f"{ind}    break;\n" if brk else "")
        if self.default is not None:
            out += f"{ind}default:\n{_body(self.default, lang, ind)}{ind}    break;\n"
        return out + f"{ind}}}\n"

    def lists(self):
        return [c[1] for c in self.cases] + ([self.default] if self.default is not None else [])


def canon(e: E) -> str:
    """A float value with any NaN replaced by 0 (the GPU's and the host's NaN bits differ)."""
    return f"fz_canon{'f' if e.ty == F32 else ''}({e.text})"


class Ctx:
    """What statements may read and write at one point of the generated program."""

    def __init__(self, rng, kernel: bool, names):
        self.rng, self.kernel, self.names = rng, kernel, names
        self.vars: list[Var] = []
        self.arrays: list[Arr] = []
        self.svars: list[SVar] = []
        self.macros: list[Macro] = []
        self.helpers: list[Helper] = []
        self.struct_helpers: list = []        # (name, StructDef)
        self.shared: list[Shared] = []
        self.minmax = kernel
        self.deep = False                     # sometimes deeper expressions
        self.loops = 0
        self.trips = 1
        self.can_return = False
        self.block = self.grid = self.bx = self.by = 1
        self.acc_ops: dict = {}

    def leaves(self, kind: str) -> list:
        out = []
        flt = kind == "float"
        for v in self.vars:
            if kind == "any" or v.ty.flt == flt:
                out.append(v.e())
        for a in self.arrays:
            if kind == "any" or a.ty.flt == flt:
                ref = ("$" if a.state else "") + a.name
                out.append(lambda g, a=a, ref=ref: E(g.rng.choice(["{0}[{1}]", "*({0} + {1})", "(&{0}[0])[{1}]"])
                                                     .format(ref, index(g, a.size)), a.ty, *_rng(a.ty)))
        for s in self.svars:
            for fname, fty in s.sdef.fields:
                if kind == "any" or fty.flt == flt:
                    out.append(lambda g, s=s, fname=fname, fty=fty:
                               E(field(g, s, fname), fty, *_rng(fty)))
        if self.kernel and not flt:
            out += [E("threadIdx.x", U32, 0, self.bx - 1), E("blockIdx.x", U32, 0, self.grid - 1),
                    E("blockDim.x", U32, self.bx, self.bx), E("gridDim.x", U32, self.grid, self.grid),
                    E("threadIdx.y", U32, 0, self.by - 1), E("blockDim.y", U32, self.by, self.by),
                    E("warpSize", I32, 32, 32), E("sp0", I32, self.sp0, self.sp0),
                    lambda g: E(f"in0[{index(g, 64)}]", I32, *_rng(I32)),
                    lambda g: E(f"in3[{index(g, 32)}]", U64, *_rng(U64)),
                    lambda g: E(f"*(in0 + {index(g, 64)})", I32, *_rng(I32)),
                    lambda g: E(f"(&in3[{index(g, 16)}])[1]", U64, *_rng(U64))]
        for sh in self.shared:
            if (sh.mode == "r" or (sh.mode == "w" and not sh.atomic_ops)) and (kind == "any" or sh.ty.flt == flt):
                out.append(lambda g, sh=sh: E(f"{sh.name}{shared_index(g, sh)}", sh.ty, *_rng(sh.ty)))
        if self.kernel and kind != "int":
            out += [lambda g: E(f"in1[{index(g, 64)}]", F32), lambda g: E(f"in2[{index(g, 32)}]", F64),
                    E("sp1", F32), lambda g: E(f"*(in2 + {index(g, 32)})", F64)]
        return out


def _rng(ty):
    return (None, None) if ty.flt else (ty.lo, ty.hi)


def index(g: ExprGen, size: int) -> str:
    """An index in [0, size) for a power-of-two size, from any integer expression."""
    e = g.int_expr(1)
    if e.lo >= 0 and e.hi < size:
        return e.text
    return f"(({e.text}) & {size - 1})"


def svref(g: ExprGen, s: SVar) -> str:
    return ("$" if s.state else "") + s.name + (f"[{index(g, s.count)}]" if s.count else "")


def field(g: ExprGen, s: SVar, fname: str) -> str:
    """A struct field, directly or through a pointer: `s.f`, `(&s)->f`, `(s + i)->f`."""
    c = g.rng.random()
    base = ("$" if s.state else "") + s.name
    if c < 0.15:
        return f"(&{svref(g, s)})->{fname}"
    if c < 0.25 and s.count:
        return f"({base} + {index(g, s.count)})->{fname}"
    return f"{svref(g, s)}.{fname}"


def shared_index(g: ExprGen, sh: Shared) -> str:
    """The subscript(s) of a shared access, brackets included: the thread's own slots in mode w, any slot
    in mode r.  2-D arrays are [threads][per_thread]."""
    if sh.layout == "2d":
        if sh.mode == "w":
            return f"[$tid][{index(g, sh.per_thread)}]"
        return f"[({conv(g.int_expr(1), U32).text}) % {sh.size // sh.per_thread}u][{index(g, sh.per_thread)}]"
    if sh.mode == "w":
        own = f"($tid * {sh.per_thread}u)"
        return f"[{own}]" if sh.per_thread == 1 else f"[{own} + {index(g, sh.per_thread)}]"
    e = conv(g.int_expr(1), U32)
    return f"[({e.text}) % {sh.size}u]"


def fit(e: E, v) -> E:
    """Convert e to v's type so that the value lies in v's proven range [v.lo, v.hi]."""
    if v.ty.flt or v.ty.key == "bool":
        return conv(e, v.ty)
    if e.ty.flt:
        return conv(e, v.ty, v.lo, v.hi)
    if v.lo <= e.lo and e.hi <= v.hi:
        return e if e.ty == v.ty else conv(e, v.ty)
    if v.full:
        return conv(e, v.ty)
    if v.lo == 0:
        return conv(E(f"(({e.text}) & {v.hi})", promote(e.ty), 0, v.hi), v.ty)
    r = reduce_mod(e, v.hi + 1)
    return conv(r, v.ty)
