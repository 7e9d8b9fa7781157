"""Control-flow graph queries on an IR Function: orders, reachability, dominators.

In:  a Function whose blocks end in terminators (attrs['targets'] name the successors).
Out: block orders and dominator maps; `remove_unreachable` edits the function in place.
`depth_first_postorder` and `immediate_dominators` work on any graph given as functions from a
node to its neighbours, `numbered_idoms` and `dominator_intervals` on nodes numbered in reverse
postorder (lists, no hashing); `vgpu.isa.reconv` runs them on the instruction-level CFG.
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterable, TypeVar

from .nodes import Block, Function
from .ops import TERMINATOR_OPS

N = TypeVar("N", bound=Hashable)


def depth_first_postorder(root: N, succs: Callable[[N], Iterable[N]]) -> list[N]:
    """The nodes reachable from root, in depth-first postorder (successors visited in order)."""
    seen = {root}
    out: list[N] = []
    stack = [(root, iter(succs(root)))]
    while stack:
        node, it = stack[-1]
        for s in it:
            if s not in seen:
                seen.add(s)
                stack.append((s, iter(succs(s))))
                break
        else:
            out.append(node)
            stack.pop()
    return out


def immediate_dominators(order: list[N], preds: Callable[[N], Iterable[N]]) -> dict[N, N]:
    """Immediate dominator of every node in `order`, the nodes reachable from the root in reverse
    postorder (root first), by Cooper, Harvey and Kennedy; the root maps to itself.  The nodes are
    numbered by their place in `order` and the iteration runs on those numbers."""
    if not order:
        return {}
    index = {v: k for k, v in enumerate(order)}
    get = index.get
    num_preds: list[list[int]] = [[]]        # the root's are never asked for
    for v in order[1:]:
        ps = []
        for p in preds(v):
            k = get(p)
            if k is not None:
                ps.append(k)
        num_preds.append(ps)
    idom = numbered_idoms(num_preds)
    return {order[k]: order[d] for k, d in enumerate(idom)}


def numbered_idoms(preds: list[list[int]]) -> list[int]:
    """Cooper-Harvey-Kennedy on nodes numbered in reverse postorder (0 the root; `preds[k]` the
    numbers of k's reachable predecessors): the immediate dominator's number of every node.  Without
    a back edge (no predecessor numbered at or after its node) the first sweep is final."""
    n = len(preds)
    idom = [-1] * n
    idom[0] = 0
    changed, looped = True, False
    while changed:
        changed = False
        for v in range(1, n):
            new = -1
            for p in preds[v]:
                if idom[p] < 0:
                    looped = True
                    continue
                if p >= v:
                    looped = True
                if new < 0:
                    new = p
                    continue
                a = p
                while a != new:             # meet: walk the deeper one up until they agree
                    while a > new:
                        a = idom[a]
                    while new > a:
                        new = idom[new]
            if new >= 0 and idom[v] != new:
                idom[v] = new
                changed = True
        if not looped:
            break
    return idom


def _targets(b: Block) -> list[Block]:
    """b's successors, not copied (read only)."""
    instrs = b.instrs
    if instrs and instrs[-1].op in TERMINATOR_OPS:
        return instrs[-1].attrs.get("targets", ())
    return ()               # a tuple: reversed() takes it too


def postorder(fn: Function, last_first: bool = False) -> list[Block]:
    """Blocks reachable from the entry, in depth-first postorder (successors visited in order, or
    from the last when `last_first`); `depth_first_postorder` specialised to blocks, as every pass
    asks for it."""
    if not fn.blocks:
        return []
    root = fn.entry
    seen = {root}
    out: list[Block] = []
    succs = (lambda b: reversed(_targets(b))) if last_first else (lambda b: iter(_targets(b)))
    stack = [(root, succs(root))]
    push, pop, add, emit = stack.append, stack.pop, seen.add, out.append
    if not last_first:                  # the common case, without the lambda
        while stack:
            node, it = stack[-1]
            for s in it:
                if s not in seen:
                    add(s)
                    push((s, iter(_targets(s))))
                    break
            else:
                emit(node)
                pop()
        return out
    while stack:
        node, it = stack[-1]
        for s in it:
            if s not in seen:
                add(s)
                push((s, succs(s)))
                break
        else:
            emit(node)
            pop()
    return out


def reverse_postorder(fn: Function) -> list[Block]:
    return postorder(fn)[::-1]


def remove_unreachable(fn: Function, live: set[Block] | None = None) -> None:
    """Drop blocks not reachable from the entry, and their phi operands in the blocks that remain;
    `live`: the reachable blocks, when the caller knows them."""
    if live is None:
        live = set(postorder(fn))
    blocks = fn.blocks
    if len(live) != len(blocks) or not live.issuperset(blocks):
        fn.blocks = blocks = [b for b in blocks if b in live]
    for b in blocks:                    # lists are rebuilt only where something goes
        if not live.issuperset(b.preds):
            b.preds = [p for p in b.preds if p in live]
        for phi in b.instrs:
            if phi.op != "phi":
                break
            if not live.issuperset(phi.attrs["blocks"]):
                keep = [k for k, p in enumerate(phi.attrs["blocks"]) if p in live]
                phi.args = [phi.args[k] for k in keep]
                phi.attrs["blocks"] = [phi.attrs["blocks"][k] for k in keep]


def dominators(fn: Function) -> dict[Block, Block | None]:
    """Immediate dominator of every reachable block; the entry maps to None."""
    order, idom = dominator_numbers(fn)
    out: dict[Block, Block | None] = {b: order[d] for b, d in zip(order, idom)}
    if fn.blocks:
        out[fn.entry] = None
    return out


def dominator_numbers(fn: Function) -> tuple[list[Block], list[int]]:
    """The reachable blocks in reverse postorder, and the number (place in that list) of each one's
    immediate dominator (the entry's: 0)."""
    order = reverse_postorder(fn)
    if not order:
        return order, []
    index = {b: k for k, b in enumerate(order)}
    get = index.get
    preds: list[list[int]] = [[]]
    for b in order[1:]:
        ps = []
        for p in b.preds:
            k = get(p)
            if k is not None:
                ps.append(k)
        preds.append(ps)
    return order, numbered_idoms(preds)


def dominator_intervals(idom: list[int]) -> tuple[list[int], list[int]]:
    """For nodes numbered in reverse postorder with immediate dominators `idom` (`dominator_numbers`):
    each node's preorder number in the dominator tree and the number of nodes in its subtree; a
    dominates b exactly when first[a] <= first[b] < first[a] + size[a].  Linear, without recursion
    (a node's dominator comes before it in reverse postorder)."""
    n = len(idom)
    size = [1] * n
    for v in range(n - 1, 0, -1):
        size[idom[v]] += size[v]
    first = [0] * n
    free = [1] * n                      # the next preorder number inside each node's subtree
    for v in range(1, n):
        d = idom[v]
        first[v] = f = free[d]
        free[d] = f + size[v]
        free[v] = f + 1
    return first, size


def dominator_tree(fn: Function, idom: dict[Block, Block | None]) -> dict[Block, list[Block]]:
    """The blocks each block immediately dominates, in layout order."""
    children: dict[Block, list[Block]] = {b: [] for b in fn.blocks}
    for b in fn.blocks:
        d = idom.get(b)
        if d is not None:
            children[d].append(b)
    return children


def dominates(idom: dict[Block, Block | None], a: Block, b: Block) -> bool:
    """True if block a dominates block b (every block dominates itself)."""
    while b is not None:
        if b is a:
            return True
        b = idom.get(b)
    return False
