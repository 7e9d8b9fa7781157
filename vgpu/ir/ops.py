"""The IR's one table of operations.

Each row says how many operands an op takes, what its result type is, and its properties.  The
verifier, printer, reader, passes and instruction selector all read this table; the arithmetic of
every pure op lives in `vgpu.arith` under the same name, shared with the simulator.

Result rules ("res"):
  'type'  the instruction's own type (Instr.type), e.g. add.s32 -> s32, load.global.f32 -> f32
  'pred'  a predicate (comparisons, vote.all/any)
  'none'  no value (stores, barriers, terminators)
Operand rules ("arg") for the verifier:
  'same'  every operand has the result type
  'any'   checked by the op's own rule in verify.py
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpInfo:
    name: str
    nargs: int | None        # None: variadic
    res: str                 # 'type' | 'pred' | 'none'
    arg: str = "same"        # 'same' | 'any'
    pure: bool = True        # no side effects, may be folded, moved, deleted when unused
    commutative: bool = False
    terminator: bool = False
    group: str = "alu"       # alu, cmp, cvt, math, mem, atom, sync, warp, special, call, misc, flow
    doc: str = ""


BINARY_ALU = ("add", "sub", "mul", "div", "rem", "and", "or", "xor", "shl", "shr", "min", "max")
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


def _rows(group, names, nargs, res="type", arg="same", **kw):
    return [OpInfo(n, nargs, res, arg, group=group, **kw) for n in names]


_TABLE = [
    # integer and float arithmetic: operands and result have the instruction's type
    *_rows("alu", ["add", "mul", "and", "or", "xor", "min", "max"], 2, commutative=True),
    *_rows("alu", ["sub", "div", "rem"], 2),
    OpInfo("shl", 2, "type", "any", group="alu", doc="shift left; amount is u32"),
    OpInfo("shr", 2, "type", "any", group="alu", doc="shift right: arithmetic for signed types; amount is u32"),
    *_rows("alu", ["neg", "not", "abs"], 1),
    # comparisons: operands of one type, result pred; float comparisons are ordered except 'ne'
    *_rows("cmp", COMPARISONS, 2, res="pred", arg="any"),
    OpInfo("select", 3, "type", "any", group="alu", doc="select p, a, b: a where p else b"),
    OpInfo("cvt", 1, "type", "any", group="cvt", doc="convert between scalar types with C semantics"),
    OpInfo("bitcast", 1, "type", "any", group="cvt", doc="reinterpret the bits of a same-sized value"),
    # math functions (float unless noted); semantics in vgpu.arith
    *_rows("math", ["sqrt", "rsqrt", "rcp", "exp", "exp2", "exp10", "log", "log2", "log10", "sin", "cos",
                    "tan", "tanh", "asin", "acos", "atan", "sinh", "cosh", "floor", "ceil", "round",
                    "trunc", "fabs"], 1),
    *_rows("math", ["pow", "fmin", "fmax", "fmod", "atan2"], 2),
    OpInfo("fma", 3, "type", group="math", doc="fused multiply-add, one rounding"),
    *_rows("math", ["popc", "clz", "ffs", "brev"], 1, arg="any", doc="bit functions; result s32 (brev: operand type)"),
    # memory: attrs['space'] in global shared local const param generic
    OpInfo("load", 1, "type", "any", pure=False, group="mem", doc="load [addr]"),
    OpInfo("store", 2, "none", "any", pure=False, group="mem", doc="store [addr], value"),
    OpInfo("atom", None, "type", "any", pure=False, group="atom",
           doc="atomic attrs['op'] on [addr]: (addr, value) or (addr, compare, value) for cas; returns the old value"),
    OpInfo("addr", 0, "type", "any", group="mem", doc="address of the symbol attrs['sym'] (u64)"),
    OpInfo("local", 0, "type", "any", pure=False, group="mem",
           doc="address of a per-thread local-memory slot of attrs['size'] bytes (u64)"),
    # special registers and synchronisation
    OpInfo("sreg", 0, "type", "any", group="special", doc="read special register attrs['name'] (tid.x, laneid, ...)"),
    OpInfo("clock", 0, "type", "any", pure=False, group="special", doc="the SM clock (u32 or u64)"),
    OpInfo("bar", None, "type", "any", pure=False, group="sync",
           doc="barrier of the block; attrs['mode'] sync|popc|and|or, the last three reduce a pred operand"),
    OpInfo("membar", 0, "none", "any", pure=False, group="sync", doc="memory fence at attrs['level'] cta|gl|sys"),
    OpInfo("shfl", 4, "type", "any", pure=False, group="warp",
           doc="shuffle attrs['mode'] idx|up|down|bfly: (mask, value, lane or delta, width)"),
    OpInfo("vote", 2, "type", "any", pure=False, group="warp",
           doc="vote attrs['mode'] all|any|uni (pred) or ballot (u32): (mask, pred)"),
    OpInfo("activemask", 0, "type", "any", pure=False, group="warp", doc="mask of the active lanes (u32)"),
    OpInfo("syncwarp", 1, "none", "any", pure=False, group="warp", doc="wait for the lanes of mask"),
    OpInfo("gridsync", 0, "none", "any", pure=False, group="sync", doc="grid-wide barrier (cooperative launch)"),
    OpInfo("printf", None, "none", "any", pure=False, group="misc", doc="device printf of attrs['fmt'] with the operands"),
    OpInfo("trap", 0, "none", "any", pure=False, group="misc", doc="abort the kernel"),
    OpInfo("call", None, "type", "any", pure=False, group="call", doc="call the function attrs['callee']"),
    # debug information: not code; its operand is not a use that keeps a value alive (vgpu.ir.debug)
    OpInfo("dbg", 1, "none", "any", pure=False, group="debug",
           doc="from here on, source variable attrs['var'] (Function.debug_vars index) is the operand "
               "(attrs['declare']: lives in memory at the operand, a local slot)"),
    # control flow; attrs['targets'] holds the successor blocks
    OpInfo("phi", None, "type", "any", group="flow", doc="phi; attrs['blocks'][i] is where args[i] comes from"),
    OpInfo("br", 1, "none", "any", pure=False, terminator=True, group="flow", doc="br p, then, else"),
    OpInfo("jmp", 0, "none", "any", pure=False, terminator=True, group="flow", doc="jmp target"),
    OpInfo("ret", None, "none", "any", pure=False, terminator=True, group="flow", doc="return (value)"),
    OpInfo("unreachable", 0, "none", "any", pure=False, terminator=True, group="flow",
           doc="control never reaches here"),
]

OPS: dict[str, OpInfo] = {o.name: o for o in _TABLE}
assert len(OPS) == len(_TABLE), "duplicate op in the IR table"
TERMINATOR_OPS = frozenset(o.name for o in _TABLE if o.terminator)   # br jmp ret unreachable

ATOMIC_OPS = ("add", "sub", "exch", "min", "max", "inc", "dec", "cas", "and", "or", "xor")
SPECIAL_REGS = ("tid.x", "tid.y", "tid.z", "ntid.x", "ntid.y", "ntid.z", "ctaid.x", "ctaid.y", "ctaid.z",
                "nctaid.x", "nctaid.y", "nctaid.z", "laneid", "warpid", "nwarpid", "smid", "nsmid",
                "lanemask_lt", "lanemask_le", "lanemask_eq", "lanemask_ge", "lanemask_gt", "warpsize")
