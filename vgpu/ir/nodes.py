"""SSA IR data: Module > Function > Block > Instr, and the values instructions use.

Every value has a `Scalar` type (`vgpu.types`); pointers are u64 addresses.  An `Instr` is itself
the value it defines (as in LLVM).  A block ends with exactly one terminator (br, jmp, ret,
unreachable); phis come first in a block, one operand per predecessor, with `attrs['blocks']`
naming where each operand comes from.  Successors live in `attrs['targets']`.

The op of every instruction is a row of `vgpu.ir.ops.OPS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..diagnostics import Span
from ..types import Scalar
from .ops import TERMINATOR_OPS


class Value:
    """Anything an instruction can use: Const, Param, Instr, Undef."""
    __slots__ = ()
    type: Scalar | None


@dataclass(eq=False, slots=True)
class Const(Value):
    type: Scalar
    value: int | float            # ints in the type's range (two's complement for signed), floats as Python float

    def __repr__(self) -> str:
        return f"Const({self.type}, {self.value!r})"


@dataclass(eq=False, slots=True)
class Undef(Value):
    """A value never defined on some path (reading an uninitialised variable)."""
    type: Scalar


@dataclass(eq=False, slots=True)
class Param(Value):
    name: str
    type: Scalar
    index: int
    pointee: Scalar | None = None     # element type for pointer params (informational)
    is_pointer: bool = False
    span: Span | None = None
    # a leaf of a kernel's struct parameter: (the parameter's name, the leaf's offset in the struct, the
    # struct's size and alignment), so that the .param buffer holds the struct as C lays it out
    group: tuple | None = None


@dataclass(eq=False, slots=True)
class Instr(Value):
    op: str
    type: Scalar | None
    args: list[Value] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    span: Span | None = None
    block: "Block | None" = None
    id: int = -1                      # numbered by Function.renumber() for printing

    @property
    def targets(self) -> list["Block"]:
        return self.attrs.get("targets", [])

    def __repr__(self) -> str:
        return f"Instr(%{self.id} = {self.op} {self.type})"


@dataclass(eq=False, slots=True)
class Block:
    name: str
    instrs: list[Instr] = field(default_factory=list)
    preds: list["Block"] = field(default_factory=list)   # kept up to date by the builder and passes

    @property
    def terminator(self) -> Instr | None:
        instrs = self.instrs
        if instrs and instrs[-1].op in TERMINATOR_OPS:
            return instrs[-1]
        return None

    @property
    def succs(self) -> list["Block"]:
        instrs = self.instrs
        if instrs and instrs[-1].op in TERMINATOR_OPS:
            return list(instrs[-1].attrs.get("targets", ()))
        return []

    @property
    def phis(self) -> list[Instr]:
        out = []
        for i in self.instrs:
            if i.op != "phi":
                break
            out.append(i)
        return out

    def append(self, ins: Instr) -> Instr:
        ins.block = self
        self.instrs.append(ins)
        return ins

    def __repr__(self) -> str:
        return f"Block({self.name})"


@dataclass(eq=False)
class Function:
    name: str
    kind: str                         # 'kernel' or 'device'
    params: list[Param]
    ret_type: Scalar | None
    blocks: list[Block] = field(default_factory=list)
    span: Span | None = None
    attrs: dict[str, Any] = field(default_factory=dict)   # e.g. noinline, launch_bounds
    debug_vars: list = field(default_factory=list)        # `ir.debug.DebugVar`s, indexed by dbg attrs['var']

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    def instructions(self) -> Iterator[Instr]:
        for b in self.blocks:
            yield from b.instrs

    def renumber(self) -> None:
        """Give instructions that define values consecutive ids, and blocks canonical names bbN."""
        n = 0
        for k, b in enumerate(self.blocks):
            b.name = f"bb{k}"
            for i in b.instrs:
                if i.type is not None:
                    i.id = n
                    n += 1

    def recompute_preds(self) -> None:
        for b in self.blocks:
            b.preds = []
        for b in self.blocks:
            for s in b.succs:
                s.preds.append(b)


@dataclass(eq=False)
class GlobalVar:
    """A symbol with static storage: __shared__, __constant__ or __device__ data, or a string.

    `size` is in bytes (0 with `dynamic=True` for `extern __shared__`); `init` the initial bytes up
    to the last one initialised (the rest of `size` is zero; None: all zero).  `elem` and `shape` describe the declared C type for listings.
    """
    name: str
    space: str                        # 'shared', 'const', 'global'
    size: int
    align: int = 4
    elem: Scalar | None = None
    shape: tuple[int, ...] = ()
    init: bytes | None = None
    dynamic: bool = False
    span: Span | None = None


@dataclass(eq=False)
class Module:
    functions: dict[str, Function] = field(default_factory=dict)
    globals: dict[str, GlobalVar] = field(default_factory=dict)
    filename: str = "<string>"
    instances: dict = field(default_factory=dict)    # kernel template instance asked for -> its kernel name
    templates: list = field(default_factory=list)    # names of the source's kernel templates

    @property
    def kernels(self) -> list[Function]:
        return [f for f in self.functions.values() if f.kind == "kernel"]

    def release(self) -> None:
        """Break the cycles between blocks and instructions, so that reference counting frees the
        module at once instead of the cyclic collector (a second per 100k instructions); the module
        is empty afterwards."""
        for f in self.functions.values():
            for b in f.blocks:
                for i in b.instrs:
                    i.args = i.attrs = i.block = None
                b.instrs = b.preds = None
            f.blocks = []
        self.functions = {}
