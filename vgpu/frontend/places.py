"""Places a lowered value is read from and written to: SSA registers (one per scalar leaf), memory at
an address, or special registers; and the leaves of a C type, by type and by name."""
from __future__ import annotations

from dataclasses import dataclass

from .ctypes import Array, CType, StructType, has_array_or_union, leaves
from .symbols import Var
from ..ir import nodes as ir

@dataclass
class Reg:
    """A variable (or part of a struct variable) held in SSA values, one key per scalar leaf."""
    keys: list
    ctype: CType


@dataclass
class Mem:
    addr: ir.Value
    ctype: CType


@dataclass
class SRegs:
    """A built-in variable (threadIdx ...): one special register per leaf."""
    names: list[str]
    ctype: CType


def in_memory(v: Var) -> bool:
    return v.address_taken or has_array_or_union(v.ctype)


def leaf_types(t: CType) -> list[CType]:
    return [lt for _, lt in leaves(t)]


def leaf_names(t: CType) -> list[str]:
    """Names of the scalar leaves of `t` relative to it: 'x', 'pos.y', 'v[2]'."""
    if isinstance(t, StructType) and t.info.is_union:
        return [f"__byte{off}" for off, _ in leaves(t)]
    if isinstance(t, StructType):
        return [f.name + ("." + n if n else "") if not n.startswith("[") else f.name + n
                for f in t.info.fields for n in leaf_names(f.ctype)]
    if isinstance(t, Array):
        return [f"[{k}]{n}" for k in range(t.n or 0) for n in leaf_names(t.elem)]
    return [""]
