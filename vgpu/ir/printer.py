"""Print an IR Module as canonical text (the syntax is documented by example in docs/ir.md).

In:  a Module (or one Function, or one instruction).
Out: text that `vgpu.ir.reader.parse_module` reads back to an equal Module:
     print_module(parse_module(print_module(m))) == print_module(m).
     Debug information (`dbg` instructions, vgpu.ir.debug) is left out: the text is the code.

    shared @tile f32[256] size 1024 align 4
    kernel @scale(f32* %x, s32 %n) {
    bb0:
      ; line 3
      %0 = sreg.u32 tid.x
      %1 = cvt.s32 %0
      %2 = lt.s32 %1, %n
      br %2, bb1, bb2
    ...

An instruction is `[%N =] op[.suffix...][.type] operands [{attr=value, ...}]`: the suffixes are the
attrs in SUFFIX_ATTRS, the type is `print_type(ins)`, constants carry their type unless the operand's
type is implied (`implied_type`), and any other attr prints in braces.  Values and blocks are
renumbered first (Function.renumber).
"""
from __future__ import annotations

import math
import re
import struct

import numpy as np

from ..types import F32, F64, PRED, U32, U64, Scalar
from .nodes import Block, Const, Function, GlobalVar, Instr, Module, Param, Undef, Value
from .ops import OPS

# attrs printed as dotted suffixes of the op name, in this order: load.global.f32, atom.shared.add.u32
SUFFIX_ATTRS: dict[str, tuple[str, ...]] = {
    "load": ("space",), "store": ("space",), "atom": ("space", "op"), "bar": ("mode",),
    "membar": ("level",), "shfl": ("mode",), "vote": ("mode",),
}
# attrs that each op prints as an operand: targets (br, jmp), phi blocks, symbol, register, callee, format
OPERAND_ATTRS: dict[str, tuple[str, ...]] = {
    "br": ("targets",), "jmp": ("targets",), "phi": ("blocks",), "addr": ("sym",), "sreg": ("name",),
    "call": ("callee",), "printf": ("fmt",),
}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_VALUE_NAME = re.compile(r"[A-Za-z0-9_.$]+\Z")


def print_type(ins: Instr) -> Scalar | None:
    """The type written after the op: the result type, or the operand type of comparisons and stores."""
    info = OPS.get(ins.op)
    if info is not None and info.res == "pred" and ins.args:
        return ins.args[0].type
    if ins.op == "store":
        return ins.args[1].type if len(ins.args) > 1 else None
    return ins.type


def implied_type(op: str, k: int, t: Scalar | None) -> Scalar | None:
    """The type operand k of `op` must have when the op prints type t (None: not implied)."""
    info = OPS.get(op)
    if info is None:
        return None
    if op in ("load", "store", "atom") and k == 0:
        return U64
    if op in ("shl", "shr") and k == 1:
        return U32
    if op == "br" or (op == "select" and k == 0):
        return PRED
    if info.arg == "same" or info.group == "cmp" or op in ("shl", "shr", "select", "store", "atom", "phi"):
        return t
    return None


# -- scalars and attribute values --------------------------------------------------------------------
def format_number(t: Scalar, v: int | float | bool) -> str:
    """A constant's value in text: decimal ints, true/false, floats that read back bit-exactly."""
    if t == PRED:
        return "true" if v else "false"
    if not t.is_float:
        return str(int(v))
    v = float(v)
    if math.isnan(v):   # keep sign and payload: write the bits
        fmt = {16: ("<e", "<H"), 32: ("<f", "<I")}.get(t.bits, ("<d", "<Q"))
        bits = struct.unpack(fmt[1], np.array(v, t.dtype).tobytes())[0] if t.bits == 16 else \
            struct.unpack(fmt[1], struct.pack(fmt[0], v))[0]
        return f"0x{bits:0{t.bits // 4}x}"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = str(np.float32(v)) if t == F32 and float(np.float32(v)) == v else repr(v)
    return text if any(c in text for c in ".en") else text + ".0"


def format_bytes(data: bytes) -> str:
    """A C-style string literal for arbitrary bytes (\\xNN for anything not printable ASCII)."""
    out = []
    for b in data:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


def format_attr(v) -> str:
    """An attribute value: int, float, bool, none, name, "string", bytes "..", a type, a block, (list)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_number(F64, v)
    if isinstance(v, Scalar):
        return v.name
    if isinstance(v, Block):
        return v.name
    if isinstance(v, (bytes, bytearray)):
        return "bytes " + format_bytes(bytes(v))
    if isinstance(v, str):
        return v if _IDENT.match(v) and v not in ("true", "false", "none") else \
            format_bytes(v.encode("utf-8"))
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(format_attr(x) for x in v) + ")"
    if isinstance(v, (Function, GlobalVar)):
        return format_attr(v.name)
    return format_bytes(repr(v).encode())


def format_attrs(attrs: dict) -> str:
    return " {" + ", ".join(f"{k}={format_attr(v)}" for k, v in attrs.items()) + "}" if attrs else ""


# -- values ---------------------------------------------------------------------------------------------
def value_name(v: Value) -> str:
    if isinstance(v, Param):
        ok = _VALUE_NAME.match(v.name) and not v.name.isdigit()
        return "%" + (v.name if ok else format_bytes(v.name.encode()))
    if isinstance(v, Instr):
        return f"%{v.id}"
    return "?"


def format_operand(v: Value, implied: Scalar | None) -> str:
    if isinstance(v, Const):
        text = format_number(v.type, v.value)
    elif isinstance(v, Undef):
        text = "undef"
    else:
        return value_name(v)
    return text if v.type == implied else f"{v.type} {text}"


def format_instr(ins: Instr) -> str:
    """One instruction, without indentation (the function must have been renumbered)."""
    op, attrs = ins.op, dict(ins.attrs)
    if op == "phi":
        attrs.pop("var", None)           # debug information (vgpu.ir.debug) is not printed
    name = op
    keys = SUFFIX_ATTRS.get(op, ())
    if keys and all(isinstance(attrs.get(k), str) and _IDENT.match(attrs[k]) and "." not in attrs[k]
                    for k in keys):
        name += "".join("." + attrs.pop(k) for k in keys)
    pt = print_type(ins)
    if pt is not None:
        name += f".{pt}"
    ops = [format_operand(a, implied_type(op, k, pt)) for k, a in enumerate(ins.args)]
    special = [k for k in OPERAND_ATTRS.get(op, ()) if k in attrs]
    if op in OPERAND_ATTRS and len(special) == len(OPERAND_ATTRS[op]):
        ops = _with_operand_attrs(op, ops, {k: attrs.pop(k) for k in special})
    head = f"%{ins.id} = " if ins.type is not None else ""
    body = f"{head}{name} {', '.join(ops)}".rstrip()
    return body + format_attrs(attrs)


def _with_operand_attrs(op: str, ops: list[str], a: dict) -> list[str]:
    if op in ("br", "jmp"):
        return ops + [b.name if isinstance(b, Block) else str(b) for b in a["targets"]]
    if op == "phi":
        blocks = [b.name if isinstance(b, Block) else str(b) for b in a["blocks"]]
        if len(blocks) != len(ops):
            return ops + [f"?{b}" for b in blocks]   # malformed: still printable
        return [f"[{v}, {b}]" for v, b in zip(ops, blocks)]
    if op == "addr":
        return [format_attr(a["sym"]) if isinstance(a["sym"], GlobalVar) else "@" + str(a["sym"])] + ops
    if op == "sreg":
        return [str(a["name"])] + ops
    if op == "call":
        callee = a["callee"].name if isinstance(a["callee"], Function) else str(a["callee"])
        return [f"@{callee}({', '.join(ops)})"]
    fmt = a["fmt"]
    return [format_bytes(fmt if isinstance(fmt, bytes) else str(fmt).encode())] + ops


# -- functions and modules ------------------------------------------------------------------------------
def format_param(p: Param) -> str:
    if p.is_pointer:
        return f"{p.pointee or 'void'}* {value_name(p)}"
    return f"{p.type} {value_name(p)}"


def format_global(g: GlobalVar) -> str:
    parts = [g.space, "@" + g.name]
    if g.elem is not None:
        parts.append(f"{g.elem}" + "".join(f"[{d}]" for d in g.shape))
    parts += ["size", str(g.size), "align", str(g.align)]
    if g.dynamic:
        parts.append("dynamic")
    if g.init is not None:
        parts += ["=", '"' + g.init.hex() + '"']
    return " ".join(parts)


def print_function(fn: Function, home: str | None = None) -> str:
    """A function's text; `home` is the source file that `; line N` comments refer to."""
    fn.renumber()
    home = home if home is not None else (fn.span.file if fn.span is not None else None)
    ret = f" {fn.ret_type}" if fn.ret_type is not None else ""
    params = ", ".join(format_param(p) for p in fn.params)
    lines = [f"{fn.kind}{ret} @{fn.name}({params}){format_attrs(fn.attrs)} {{"]
    loc = None
    for b in fn.blocks:
        lines.append(f"{b.name}:")
        for ins in b.instrs:
            if ins.op == "dbg":          # debug information is not printed (nor read back)
                continue
            here = _location(ins, home)
            if here is not None and here != loc:
                lines.append(f"  ; {here}")
                loc = here
            lines.append("  " + format_instr(ins))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _location(ins: Instr, home: str | None) -> str | None:
    """`line N`, or `"file" line N` for a span in another file than `home`."""
    s = ins.span
    if s is None or s.line <= 0:
        return None
    return f"line {s.line}" if s.file == home or home is None else f"{format_bytes(s.file.encode())} line {s.line}"


def print_module(m: Module) -> str:
    parts = [f"module {format_bytes(m.filename.encode())}\n"]
    if m.globals:
        parts.append("".join(format_global(g) + "\n" for g in m.globals.values()))
    parts += [print_function(f, m.filename) for f in m.functions.values()]
    return "\n".join(parts)
