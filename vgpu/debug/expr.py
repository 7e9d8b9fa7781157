"""Expressions the debugger prints: `i`, `out[i+1]`, `tile[threadIdx.x]`, `%r3`, `threadIdx.x`,
`(float)buf[2]`, `&tile[4]`, evaluated for the lanes of one warp of a paused wave.

In:  the expression text (C-like; Python kernels use the same subset) and wave lane ids.
Out: a numpy array with one value per lane (`values`), or a memory address with its element
     type (`lvalue`, `address`); a `DebugError` naming what is unknown.

Names resolve in this order: a source variable in scope at the warp's pc, read from where the
compiler's debug information (`vgpu.isa.debuginfo`) says it lives there (a register, a spill slot,
local memory, a constant; `OptimisedOut` where no location is certain), a
kernel parameter (pointers index with their pointee type), a __shared__/__device__/__constant__
symbol (its address; elements read as int32 unless cast), the built-ins threadIdx blockIdx
blockDim gridDim laneid warpid.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np

from ..sim.memory import CONST_BASE, GLOBAL_BASE, LOCAL_BASE, SHARED_BASE
from . import memory as M
from ..isa import debuginfo
from ..isa.program import Imm, Mem, Reg

_CASTS = {"int": np.int32, "unsigned": np.uint32, "uint": np.uint32, "float": np.float32, "double": np.float64,
          "long": np.int64, "short": np.int16, "char": np.int8, "uchar": np.uint8, "ulong": np.uint64,
          "int32": np.int32, "uint32": np.uint32, "int64": np.int64, "uint64": np.uint64, "float32": np.float32,
          "float64": np.float64, "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "uint16": np.uint16}
_CAST = re.compile(r"^\(\s*(unsigned\s+int|unsigned|[a-z_0-9]+)\s*\*?\s*\)\s*")
_REG = re.compile(r"%([A-Za-z][\w]*(?:\.[xyz])?)")
_BUILTINS = {"threadIdx": "%tid", "blockIdx": "%ctaid", "blockDim": "%ntid", "gridDim": "%nctaid"}
_SPACE_BASE = {"global": GLOBAL_BASE, "shared": SHARED_BASE, "local": LOCAL_BASE, "const": CONST_BASE}


OPTIMISED_OUT = "<optimised out>"
_SCALAR = {"pred": np.dtype(np.bool_), "s8": np.dtype(np.int8), "u8": np.dtype(np.uint8), "s16": np.dtype(np.int16),
           "u16": np.dtype(np.uint16), "s32": np.dtype(np.int32), "u32": np.dtype(np.uint32),
           "s64": np.dtype(np.int64), "u64": np.dtype(np.uint64), "f32": np.dtype(np.float32),
           "f64": np.dtype(np.float64), "b8": np.dtype(np.uint8), "b16": np.dtype(np.uint16),
           "b32": np.dtype(np.uint32), "b64": np.dtype(np.uint64)}


class OptimisedOut(M.DebugError):
    """The variable is in scope but no location holds its value here (the compiler optimised it
    out over this range): printed as `<optimised out>`, never a guess."""


@dataclass
class Ptr:
    """Per-lane addresses of elements of `dtype`."""
    addr: np.ndarray
    dtype: np.dtype


class Evaluator:
    def __init__(self, session):
        self.s = session

    # -- entry points -----------------------------------------------------------------------------
    def values(self, text: str, lanes: np.ndarray) -> np.ndarray:
        cast, tree = self._parse(text)
        v = self._eval(tree, lanes)
        if isinstance(v, Ptr):
            v = v.addr
        v = np.broadcast_to(np.asarray(v), lanes.shape).copy()
        return v.astype(cast) if cast is not None else v

    def lvalue(self, text: str):
        """(address, dtype, space) of the memory word an expression names, for the focused lane."""
        lane = self._lane()
        cast, tree = self._parse(text)
        p = self._address_of(tree, np.array([lane]))
        addr = int(p.addr[0])
        return addr, np.dtype(cast) if cast is not None else p.dtype, M.space_of(addr)

    def address(self, where, space: str | None = None) -> int:
        if isinstance(where, (int, np.integer)):
            return int(where) + (_SPACE_BASE[space] if space and int(where) < _SPACE_BASE[space] else 0)
        text = str(where).strip()
        try:
            n = int(text, 0)
        except ValueError:
            pass
        else:
            return self.address(n, space)
        lane = self._lane()
        _, tree = self._parse(text)
        if isinstance(tree, ast.Subscript):
            return int(self._address_of(tree, np.array([lane])).addr[0])
        v = self._eval(tree, np.array([lane]))
        if isinstance(v, Ptr):
            return int(v.addr[0])
        return int(np.asarray(v).ravel()[0])

    # -- parsing ----------------------------------------------------------------------------------
    def _parse(self, text: str):
        text = text.strip()
        cast = None
        m = _CAST.match(text)
        if m:
            name = m.group(1).replace("unsigned int", "unsigned")
            if name not in _CASTS:
                raise M.DebugError(f"unknown type {m.group(1)!r} (types: {', '.join(sorted(_CASTS))})")
            cast, text = np.dtype(_CASTS[name]), text[m.end():]
        addr_of = text.startswith("&")
        if addr_of:
            text = text[1:]
        src = _REG.sub(lambda r: "__reg_" + r.group(1).replace(".", "__"), text)
        src = src.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace(" not =", "!=")
        try:
            tree = ast.parse(src, mode="eval").body
        except SyntaxError:
            raise M.DebugError(f"cannot parse expression {text!r}") from None
        if addr_of:
            tree = ast.Call(func=ast.Name("__addr__"), args=[tree], keywords=[])
        return cast, tree

    # -- evaluation -------------------------------------------------------------------------------
    def _eval(self, node, lanes):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return np.full(lanes.shape, node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id, lanes)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in _BUILTINS:
            if node.attr not in ("x", "y", "z"):
                raise M.DebugError(f"{node.value.id} has fields x, y, z, not {node.attr}")
            return M.special_values(self._wave(), f"{_BUILTINS[node.value.id]}.{node.attr}", lanes)
        if isinstance(node, ast.Attribute) and _dotted(node):   # a struct variable's field: `p.x`
            return self._name(_dotted(node), lanes)
        if isinstance(node, ast.Subscript):
            p = self._address_of(node, lanes)
            return self._load(p, lanes)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__addr__":
            return self._address_of(node.args[0], lanes)
        if isinstance(node, ast.BoolOp):
            vals = [self._num(v, lanes) != 0 for v in node.values]
            f = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = f(out, v)
            return out.astype(np.int32)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return (self._num(node.operand, lanes) == 0).astype(np.int32)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Invert, ast.UAdd)):
            v = self._num(node.operand, lanes)
            return -v if isinstance(node.op, ast.USub) else ~v if isinstance(node.op, ast.Invert) else v
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left, lanes), self._eval(node.right, lanes)
            if isinstance(a, Ptr) and isinstance(node.op, (ast.Add, ast.Sub)):
                step = np.asarray(b, np.int64) * a.dtype.itemsize
                return Ptr(a.addr + step if isinstance(node.op, ast.Add) else a.addr - step, a.dtype)
            a, b = _num(a), _num(b)
            ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Mod: np.fmod,
                   ast.LShift: np.left_shift, ast.RShift: np.right_shift, ast.BitAnd: np.bitwise_and,
                   ast.BitOr: np.bitwise_or, ast.BitXor: np.bitwise_xor, ast.FloorDiv: np.floor_divide}
            if isinstance(node.op, ast.Div):
                if a.dtype.kind in "iu" and b.dtype.kind in "iu":
                    with np.errstate(all="ignore"):
                        return np.where(b != 0, np.trunc(a / np.where(b == 0, 1, b)), 0).astype(np.int64)
                return a / b
            f = ops.get(type(node.op))
            if f is None:
                raise M.DebugError(f"operator {type(node.op).__name__} is not supported")
            with np.errstate(all="ignore"):
                return f(a, b)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            a, b = self._num(node.left, lanes), self._num(node.comparators[0], lanes)
            f = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
                 ast.Eq: np.equal, ast.NotEq: np.not_equal}[type(node.ops[0])]
            return f(a, b).astype(np.int32)
        raise M.DebugError(f"cannot evaluate {ast.unparse(node)!r} (variables, parameters, symbols, "
                           "threadIdx/blockIdx/blockDim/gridDim, %registers, [], + - * / % << >> & | ^)")

    def _num(self, node, lanes):
        return _num(self._eval(node, lanes))

    def _name(self, name: str, lanes):
        wave = self._wave()
        if name.startswith("__reg_"):
            reg = "%" + name[6:].replace("__", ".")
            if reg in wave.special:
                return M.special_values(wave, reg, lanes)
            return M.register_values(wave, reg, lanes)
        if name in ("laneid", "warpid"):
            return M.special_values(wave, "%laneid", lanes) if name == "laneid" else \
                (wave.special["%tid.x"][lanes] * 0 + (lanes % (32 * wave.warps_per_block)) // 32)
        pc = int(wave.simt.pc[int(lanes[0]) // 32])
        code = self.s.code
        var = debuginfo.visible(code, pc).get(name)
        if var is not None:
            return self._variable(var, debuginfo.location_at(code, var, pc), lanes)
        declared = [d for d in code.debug_vars if d.name == name]
        if declared and not any(p.name == name for p in code.params):
            d = declared[0]
            line = code.instrs[pc].line if pc < len(code.instrs) else None
            raise M.DebugError(f"{name} is not in scope at line {line} (pc {pc}): it is visible on lines "
                               f"{d.first}-{d.last}" + (f" of {d.func}" if d.func != code.name else ""))
        for p in self.s.code.params:
            if p.name == name:
                raw = bytes(wave.params)[p.offset:p.offset + p.size]
                if p.is_pointer:
                    dt = p.pointee.dtype if p.pointee is not None else np.dtype(np.uint8)
                    return Ptr(np.full(lanes.shape, int.from_bytes(raw, "little"), np.int64), np.dtype(dt))
                return np.full(lanes.shape, np.frombuffer(raw, p.type.dtype)[0])
        addr = M.symbol_address(wave, self._loaded(), name)
        if addr is None:                                   # a local array: the compiler's __local_NAME
            addr = M.symbol_address(wave, None, "__local_" + name)
        if addr is not None:
            return Ptr(np.full(lanes.shape, addr, np.int64), np.dtype(np.int32))
        known = sorted({v.name for v in self.s.code.debug_vars if not v.name.startswith("__vgpu_")} |
                       {p.name for p in self.s.code.params})
        raise M.DebugError(f"no variable, parameter or symbol named {name!r} at pc {pc} "
                           f"(known: {', '.join(known) or 'none'})")

    def _variable(self, var: int, loc, lanes):
        """The values of debug variable `var` at its location (vgpu.isa.debuginfo); a pointer as a
        `Ptr` to its C pointee type, so `p[i]` indexes it."""
        v = self._variable_value(var, loc, lanes)
        ctype = self.s.code.debug_vars[var].ctype.strip()
        if ctype.endswith("*") and not isinstance(v, Ptr):
            return Ptr(np.asarray(v).astype(np.int64), _pointee(ctype))
        return v

    def _variable_value(self, var: int, loc, lanes):
        d = self.s.code.debug_vars[var]
        dt = _SCALAR.get(d.scalar, np.dtype(np.int32))
        wave = self._wave()
        if loc is None:
            raise OptimisedOut(f"{d.name} = {OPTIMISED_OUT}")
        if isinstance(loc, Imm):
            return np.full(lanes.shape, loc.value).astype(dt)
        if isinstance(loc, Reg):
            raw = M.register_values(wave, loc.name, lanes)
            if raw.dtype.itemsize == dt.itemsize:
                return raw.view(dt)
            return raw.astype(dt) if d.scalar != "pred" else raw != 0
        if isinstance(loc, Mem):
            name = loc.base.name
            for p in self.s.code.params:                   # a parameter never loaded: its bytes
                if p.name == name:
                    raw = bytes(wave.params)[p.offset + loc.offset:p.offset + loc.offset + dt.itemsize]
                    return np.full(lanes.shape, np.frombuffer(raw, dt)[0])
            base = M.symbol_address(wave, None, name)
            if base is None:
                raise OptimisedOut(f"{d.name} = {OPTIMISED_OUT}")
            p = Ptr(np.full(lanes.shape, base + loc.offset, np.int64), dt)
            if "[" in d.ctype:                             # an array: its address, indexable
                return p
            return self._load(p, lanes)
        raise OptimisedOut(f"{d.name} = {OPTIMISED_OUT}")

    def _address_of(self, node, lanes) -> Ptr:
        if isinstance(node, ast.Subscript):
            base = self._eval(node.value, lanes)
            if not isinstance(base, Ptr):
                raise M.DebugError(f"{ast.unparse(node.value)} is not an array or pointer")
            idx = self._num(node.slice, lanes).astype(np.int64)
            return Ptr(base.addr + idx * base.dtype.itemsize, base.dtype)
        v = self._eval(node, lanes)
        if isinstance(v, Ptr):
            return v
        raise M.DebugError(f"{ast.unparse(node)} is a value in a register, not in memory")

    def _load(self, p: Ptr, lanes) -> np.ndarray:
        wave, sim = self._wave(), self.s.launcher.sim
        out = np.zeros(lanes.shape, p.dtype)
        for k, lane in enumerate(lanes):
            out[k] = M.read(sim, wave, int(lane), int(p.addr[k]), p.dtype, 1)[0]
        return out

    def _loaded(self):
        L = self.s.launcher
        return L.device.load(L.program)

    def _wave(self):
        return self.s._need_wave()

    def _lane(self) -> int:
        self.s._need_warp()
        return self.s._focus_lane()


_C_DTYPES = {"int": np.int32, "signed": np.int32, "unsigned": np.uint32, "unsigned int": np.uint32,
             "float": np.float32, "double": np.float64, "char": np.int8, "signed char": np.int8,
             "unsigned char": np.uint8, "short": np.int16, "unsigned short": np.uint16, "long": np.int64,
             "long long": np.int64, "unsigned long": np.uint64, "unsigned long long": np.uint64, "bool": np.uint8,
             "int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "uint16_t": np.uint16,
             "int32_t": np.int32, "uint32_t": np.uint32, "int64_t": np.int64, "uint64_t": np.uint64}


def _pointee(ctype: str) -> np.dtype:
    """The element dtype of a C pointer type as the compiler spells it ('const float *')."""
    base = ctype[:-1].replace("__restrict__", "").replace("const", "").replace("volatile", "").strip()
    if base.endswith("*"):
        return np.dtype(np.uint64)
    return np.dtype(_C_DTYPES.get(" ".join(base.split()), np.uint8))


def _dotted(node) -> str | None:
    """'a.b.c' for a chain of attributes on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head is not None else None
    return None


def _num(v):
    if isinstance(v, Ptr):
        return v.addr
    return np.asarray(v)
