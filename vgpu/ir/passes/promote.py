"""Promote local-memory slots to SSA values (mem2reg).

In:  a Function.  Out: every `local` slot whose address is used only as the address of
non-volatile loads and stores of one scalar type, of the slot's size, is gone: each load is
replaced by the value stored last on every path (phis at the iterated dominance frontier of the
stores, undef before any store), and the stores and the slot are deleted.  A variable declared in the
slot (a `dbg ... declare`) follows: each store becomes a dbg of the stored value, each phi names it.  This is what turns `int *out` parameters of inlined device
functions back into registers.
"""
from __future__ import annotations

from ..cfg import dominator_tree, dominators, remove_unreachable
from ..nodes import Block, Function, Instr, Undef, Value
from ...types import Scalar
from ..debug import undef_dbgs
from .rewrite import remove_instrs, replace_uses, users


def promote_locals(fn: Function) -> bool:
    """Turn promotable local slots into SSA values; True if any slot was promoted."""
    slots = [i for b in fn.blocks for i in b.instrs if i.op == "local"]
    if not slots:
        return False
    uses = users(fn)
    todo = {s: t for s in slots if (t := _promotable(s, uses.get(s, []))) is not None}
    if not todo:
        return False
    remove_unreachable(fn)
    _promote(fn, todo)
    return True


def _promotable(slot: Instr, uses: list[Instr]) -> Scalar | None:
    """The one type the slot is accessed as, if it is promotable, else None."""
    types = set()
    for u in uses:
        if u.op not in ("load", "store") or u.args[0] is not slot or u.attrs.get("volatile"):
            return None
        if u.op == "store" and u.args[1] is slot:
            return None
        types.add(u.type if u.op == "load" else u.args[1].type)
    if len(types) != 1:
        return None
    t = types.pop()
    return t if t is not None and t.size == slot.attrs.get("size") else None


def _frontiers(fn: Function, idom: dict[Block, Block | None]) -> dict[Block, set[Block]]:
    """Dominance frontiers (Cooper, Harvey, Kennedy)."""
    df: dict[Block, set[Block]] = {b: set() for b in fn.blocks}
    for b in fn.blocks:
        if len(b.preds) > 1:
            for p in b.preds:
                runner = p
                while runner is not None and runner is not idom[b]:
                    df[runner].add(b)
                    runner = idom[runner]
    return df


def _promote(fn: Function, slots: dict[Instr, Scalar]) -> None:
    """Cytron et al.: phis at the iterated dominance frontier of the stores, then one renaming walk
    over the dominator tree for all slots together."""
    idom = dominators(fn)
    df = _frontiers(fn, idom)
    stores: dict[Instr, set[Block]] = {s: set() for s in slots}
    for i in fn.instructions():
        if i.op == "store" and i.args[0] in stores:
            stores[i.args[0]].add(i.block)
    phi_slot: dict[Instr, Instr] = {}
    for slot, blocks in stores.items():
        work, placed = list(blocks), set()
        while work:
            for f in df[work.pop()]:
                if f not in placed:
                    placed.add(f)
                    phi = Instr("phi", slots[slot], [], {"blocks": []}, None, f)
                    f.instrs.insert(0, phi)
                    phi_slot[phi] = slot
                    work.append(f)
    declared = {i.args[0]: i for i in fn.instructions() if i.op == "dbg" and i.args[0] in slots}
    for phi, slot in phi_slot.items():         # a declared variable's phi says so (vgpu.ir.debug)
        if slot in declared:
            phi.attrs["var"] = declared[slot].attrs["var"]
    children = dominator_tree(fn, idom)
    undef = {s: Undef(t) for s, t in slots.items()}
    stack: dict[Instr, list[Value]] = {s: [] for s in slots}
    repl: dict[Value, Value] = {}
    dead: set[Instr] = set(slots)
    walk: list[tuple[Block, list[Instr] | None]] = [(fn.entry, None)]
    while walk:
        b, pushed = walk.pop()
        if pushed is not None:          # leaving b: undo its definitions
            for s in pushed:
                stack[s].pop()
            continue
        pushed = []
        for i in b.instrs:
            slot = phi_slot.get(i) if i.op == "phi" else i.args[0] if i.op in ("load", "store") else None
            if slot not in slots:
                continue
            if i.op == "load":
                repl[i] = stack[slot][-1] if stack[slot] else undef[slot]
                dead.add(i)
                continue
            stack[slot].append(i if i.op == "phi" else i.args[1])
            pushed.append(slot)
            if i.op == "store":
                d = declared.get(slot) if declared else None
                if d is None:
                    dead.add(i)
                else:                       # the variable's new value: the store becomes its dbg
                    i.op, i.args, i.attrs = "dbg", [i.args[1]], {"var": d.attrs["var"]}
        for s in b.succs:
            for phi in s.phis:
                slot = phi_slot.get(phi)
                if slot is not None:
                    phi.args.append(stack[slot][-1] if stack[slot] else undef[slot])
                    phi.attrs["blocks"].append(b)
        walk.append((b, pushed))
        walk += [(c, None) for c in children[b]]
    replace_uses(fn, repl)
    undef_dbgs(fn, set(slots))               # a variable holding a promoted slot's address: gone
    remove_instrs(fn, dead | set(declared.values()))
