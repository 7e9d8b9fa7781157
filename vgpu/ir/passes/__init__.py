"""IR optimisation passes, and `optimize`, the order the compiler runs them in.

In:  a Module straight from the front end (or the reader).
Out: the same Module, optimised in place and returned: device functions inlined into the
kernels (and dropped), then per kernel, to a fixed point: local slots promoted to SSA values,
copies propagated, constants folded, common subexpressions eliminated, the CFG simplified, dead code removed; finally generic
memory operations narrowed to the address space their address lies in, and the blocks laid out
in reverse postorder.  Every pass keeps
`verify(module)` passing.
"""
from __future__ import annotations

from ..cfg import remove_unreachable
from ..nodes import Function, Module
from ..ops import TERMINATOR_OPS
from .copyprop import propagate_copies
from .cse import eliminate_common_subexpressions
from .dce import eliminate_dead_code
from .fold import fold_constants
from .inline import inline_calls
from .promote import promote_locals
from .simplify import order_blocks, simplify_cfg
from .spaces import infer_spaces

FUNCTION_PASSES = (promote_locals, propagate_copies, fold_constants, eliminate_common_subexpressions, simplify_cfg,
                   eliminate_dead_code)
MAX_ROUNDS = 20
CFG_PASSES = (promote_locals, simplify_cfg)     # the passes that may change the CFG (edges, blocks)

__all__ = ["optimize", "optimize_function", "inline_calls", "promote_locals", "fold_constants",
           "propagate_copies", "eliminate_common_subexpressions", "simplify_cfg", "eliminate_dead_code", "infer_spaces", "order_blocks", "FUNCTION_PASSES"]


def optimize(m: Module) -> Module:
    """Inline, then optimise every remaining function; returns m."""
    inline_calls(m)
    for fn in m.functions.values():
        optimize_function(fn, m)
    return m


def optimize_function(fn: Function, m: Module) -> None:
    """Run the function passes until none changes anything, then infer address spaces.

    A fixed point is reached when every pass has run on the current code and changed nothing; the
    pass that made the last change need not run again when a second run of it cannot find more:
    dead-code elimination always, constant folding on code without loops (one sweep in reverse
    postorder sees every definition before its uses)."""
    if fn.blocks:
        order_blocks(fn)                  # the reachable blocks only: what remove_unreachable keeps
        remove_unreachable(fn, set(fn.blocks))
    idempotent = {eliminate_dead_code} | ({fold_constants} if _acyclic(fn) else set())
    unchanged, last = 0, None          # passes run in a row without a change; the last to change
    reorder = False                    # the CFG changed since the blocks were laid out
    for _ in range(MAX_ROUNDS):
        for p in FUNCTION_PASSES:
            if unchanged == len(FUNCTION_PASSES) or (p is last and unchanged == len(FUNCTION_PASSES) - 1
                                                      and p in idempotent):
                break
            if p(fn):
                unchanged, last = 0, p
                reorder = reorder or p in CFG_PASSES
            else:
                unchanged += 1
        else:
            continue
        break
    infer_spaces(fn, m.globals)
    if reorder:
        order_blocks(fn)


def _acyclic(fn: Function) -> bool:
    """No loop in fn's CFG: with blocks in reverse postorder, no edge goes back (or to itself).
    The passes only delete edges and blocks, so acyclic code stays acyclic."""
    index = {b: k for k, b in enumerate(fn.blocks)}
    for k, b in enumerate(fn.blocks):
        t = b.instrs[-1] if b.instrs else None
        if t is not None and t.op in TERMINATOR_OPS:
            for s in t.attrs.get("targets", ()):
                if index.get(s, -1) <= k:
                    return False
    return True
