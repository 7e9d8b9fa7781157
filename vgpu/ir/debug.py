"""Debug information in the IR: which SSA value holds each source variable from where on.

In:  the front ends' variables (name, C or Python type, the scalar type of its value, the source
     lines of its scope, the function it is declared in).
Out: `Function.debug_vars` (a list of `DebugVar`) and `dbg` instructions in the blocks, like LLVM's
     llvm.dbg.value: `dbg v {var=3}` says that from this point on variable 3 is the value v (an
     `Undef` operand: optimised out from here); a phi with attrs['var'] is the variable's value
     where paths join (if the phi goes, its paths' own locations meet: nothing is lost that was right);
     `dbg slot {var=3, declare=True}` that it lives in
     memory at the local slot.  A dbg's operand is not a use: dead-code elimination deletes a value
     only the debug information needs and turns the dbg's operand into `Undef`; a pass that replaces a
     value rewrites the dbg's operand like any other.  Instruction selection turns dbgs into debug
     points on machine instructions (vgpu.isa.debuginfo).
"""
from __future__ import annotations

from typing import NamedTuple

from .nodes import Block, Function, Instr, Undef, Value


class DebugVar(NamedTuple):
    name: str            # 'i', or 'p.x' for a leaf of a struct variable
    ctype: str           # the declared type as the source writes it ('int', 'float *', 'int32')
    scalar: str          # the IR type name of the value ('s32', 'f32', 'u64', 'pred'); of an element for arrays
    file: str
    first: int           # scope: the source lines where the variable is visible
    last: int
    func: str            # the kernel or (inlined) device function declaring it


def dbg(var: int, value: Value, span=None, declare: bool = False) -> Instr:
    """A dbg instruction (not yet in a block)."""
    attrs = {"var": var, "declare": True} if declare else {"var": var}
    return Instr("dbg", None, [value], attrs, span)


def undef_dbgs(fn: Function, dead: set) -> None:
    """Point the dbgs whose value is in `dead` (about to be deleted) at Undef: optimised out."""
    for b in fn.blocks:
        for i in b.instrs:
            if i.op == "dbg" and i.args[0] in dead:
                a = i.args[0]
                i.args = [Undef(a.type)]


def kill_at(block: Block, dbgs: list[Instr]) -> None:
    """Mark the variables of `dbgs` (from a block that is going away) optimised out at the start of
    `block`, after its phis and before its own debug points: conservative, never a stale location."""
    k = len(block.phis)
    new = [Instr("dbg", None, [Undef(d.args[0].type)], {"var": d.attrs["var"]}, d.span, block)
           for d in dbgs if not d.attrs.get("declare")]
    block.instrs[k:k] = new


def strip(fn: Function) -> None:
    """Remove every dbg instruction and the variable table (code without debug information)."""
    for b in fn.blocks:
        if any(i.op == "dbg" for i in b.instrs):
            b.instrs = [i for i in b.instrs if i.op != "dbg"]
    fn.debug_vars = []

