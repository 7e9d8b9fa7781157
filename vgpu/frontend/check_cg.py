"""Cooperative groups at warp level (a mixin of `vgpu.frontend.check.Checker`): `thread_block_tile<N>`
from `tiled_partition<N>(block)`, its members, and `cg::reduce(tile, value, cg::plus<T>())`.

A tile is a run of N (a power of two, at most 32) consecutive threads of the block in its linear
order, so inside a warp: rank = lane & (N-1), its lanes' mask = ((1 << N) - 1) << (lane & (32 - N)).
Each member call is rewritten to the warp intrinsic it means (`tile.shfl_down(v, d)` is
`__shfl_down_sync(mask, v, d, N)`) and that expression is checked and lowered in its place:
`sema.rewrites[call]` holds that expression.
`cg::reduce` lowers to shfl_down steps N/2 ... 1 towards rank 0, then a broadcast from rank 0
(CUDA's coalesced_reduce for tiles).

The member mask of a tile's shuffle, vote or sync is the tile's lanes, as CUDA builds it, except when
the active lanes include the whole tile: then it is the active lanes (the same result: the width
argument keeps each tile apart).  vgpu's simulator faults when lanes of one warp-wide shfl.sync pass
different masks, which the hardware allows for disjoint tiles; with the active mask a converged warp
(or a block smaller than a warp) runs.  Two or more (not all) tiles of a warp active at once, diverged
from each other, still trip that check.
"""
from __future__ import annotations

import copy
from dataclasses import fields

from . import ast as A
from .builtins import TABLE
from .ctypes import (ERROR, THREAD_BLOCK, THREAD_GROUP, UINT, ULLONG, CType, ErrorType, Float, StructInfo, StructType,
                     is_arith, is_integer, spell, unqual)
from .parse import parse
from .symbols import CallInfo
from ..diagnostics import Reporter

_TILES: dict[int, StructType] = {}
_FUNCTORS: dict[tuple[str, str], StructType] = {}
FUNCTOR_NAMES = ("plus", "less", "greater", "bit_and", "bit_or", "bit_xor")

# the member mask of a tile's shuffles, votes and syncs: the active lanes when they include the whole tile
# (a warp of tiles running together, or a block smaller than a warp), else the tile's lanes.  The
# simulator wants one mask per warp-wide shuffle (see the module docstring).
_TILE = "(((1u << __N) - 1u) << (__lane_id() & (32u - __N)))"
_MASK = (f"(__N == 32 ? __activemask() : ((__activemask() & {_TILE}) == {_TILE} ? __activemask() : {_TILE}))")
_LINEAR = "(threadIdx.x + (threadIdx.y + threadIdx.z * blockDim.y) * blockDim.x)"
_TILE_MEMBERS = {          # name -> (number of arguments, the expression)
    "thread_rank": (0, "(__lane_id() & (__N - 1u))"),
    "size": (0, "(unsigned)__N"),
    "num_threads": (0, "(unsigned long long)__N"),
    "meta_group_rank": (0, f"({_LINEAR} / __N)"),
    "meta_group_size": (0, "((blockDim.x * blockDim.y * blockDim.z + __N - 1) / __N)"),
    "sync": (0, f"__syncwarp({_MASK})"),
    "shfl": (2, f"__shfl_sync({_MASK}, __a0, __a1, __N)"),
    "shfl_down": (2, f"__shfl_down_sync({_MASK}, __a0, __a1, __N)"),
    "shfl_up": (2, f"__shfl_up_sync({_MASK}, __a0, __a1, __N)"),
    "shfl_xor": (2, f"__shfl_xor_sync({_MASK}, __a0, __a1, __N)"),
    "any": (1, f"__any_sync({_MASK}, __a0)"),
    "all": (1, f"__all_sync({_MASK}, __a0)"),
    "ballot": (1, f"((__ballot_sync({_MASK}, __a0) >> (__lane_id() & (32u - __N))) & "
                  f"(__N == 32 ? 0xFFFFFFFFu : (1u << __N) - 1u))"),
}
_DYN_TILE = "(((1u << __self.__tile) - 1u) << (__lane_id() & (32u - __self.__tile)))"
_DYN_MASK = (f"(__self.__tile == 32u || (__activemask() & {_DYN_TILE}) == {_DYN_TILE} ? __activemask() : "
             f"{_DYN_TILE})")
_GROUP_MEMBERS = {          # thread_group: a block (__tile 0) or a tile of __tile threads
    "size": (0, "__self.__size"),
    "num_threads": (0, "(unsigned long long)__self.__size"),
    "thread_rank": (0, f"(__self.__tile == 0u ? {_LINEAR} : (__lane_id() & (__self.__tile - 1u)))"),
    "sync": (0, f"(__self.__tile == 0u ? __syncthreads() : __syncwarp({_DYN_MASK}))"),
}
_COALESCED_MEMBERS = {      # coalesced_group: its mask is the lanes active at coalesced_threads()
    "size": (0, "(unsigned)__popc(__self.__mask)"),
    "num_threads": (0, "(unsigned long long)__popc(__self.__mask)"),
    "thread_rank": (0, "(unsigned)__popc(__self.__mask & ((1u << __lane_id()) - 1u))"),
    "meta_group_rank": (0, "0u"),
    "meta_group_size": (0, "1u"),
    "sync": (0, "__syncwarp(__self.__mask)"),
    "shfl": (2, "__vgpu_cg_shfl(__self.__mask, __a0, (unsigned)(__a1))"),
    "any": (1, "__any_sync(__self.__mask, __a0)"),
    "all": (1, "__all_sync(__self.__mask, __a0)"),
    "ballot": (1, "__vgpu_cg_compact(__self.__mask, __ballot_sync(__self.__mask, __a0))"),
}
_SNIPPETS: dict[str, A.Expr] = {}


def tile_type(n: int) -> StructType:
    if n not in _TILES:
        _TILES[n] = StructType(StructInfo(f"cooperative_groups::thread_block_tile<{n}>", complete=True))
    return _TILES[n]


def tile_size(t: CType) -> int | None:
    t = unqual(t)
    return next((n for n, tt in _TILES.items() if tt == t), None)


def functor_type(name: str, t: CType) -> StructType:
    key = (name, spell(t))
    if key not in _FUNCTORS:
        info = StructInfo(f"cooperative_groups::{name}<{spell(t)}>", complete=True)
        info.elem = t
        _FUNCTORS[key] = StructType(info)
    return _FUNCTORS[key]


def _snippet(text: str) -> A.Expr:
    """The expression `text` parsed once (a .vk expression over __N, __a0, __a1)."""
    if text not in _SNIPPETS:
        tu = parse(f"__device__ void __cg_snippet() {{ ({text}); }}", "<cooperative_groups>", Reporter())
        _SNIPPETS[text] = tu.decls[0].body.items[0].expr
    return _SNIPPETS[text]


def _instantiate(node, subst: dict, span):
    """A copy of `node` with the placeholders of `subst` replaced and every span set to `span`."""
    if isinstance(node, A.Ident) and node.name in subst:
        return subst[node.name]
    if isinstance(node, list):
        return [_instantiate(x, subst, span) for x in node]
    if not isinstance(node, A.Node):
        return node
    new = copy.copy(node)
    for f in fields(node):
        if f.name == "span":
            continue
        setattr(new, f.name, _instantiate(getattr(node, f.name), subst, span))
    new.span = span
    if isinstance(new, A.Expr):
        new.ctype = None
    return new


class CGChecker:
    """Needs the Checker's `expr`, `value`, `const_int`, `error`, `unsupported`, `sema`."""

    def tile_type_ref(self, ref: A.TypeRef) -> CType:
        n = self.tile_arg(ref.targs, ref.span)
        return tile_type(n) if n is not None else ERROR

    def tile_arg(self, targs: list, span) -> int | None:
        if len(targs) != 1 or isinstance(targs[0], A.TypeRef):
            self.error(span, "thread_block_tile and tiled_partition take one template argument: the tile size")
            return None
        self.expr(targs[0])
        n = self.const_int(targs[0], "tile size")
        if n is None:
            return None
        if n not in (1, 2, 4, 8, 16, 32):
            self.unsupported(targs[0].span, f"tiles of {n} threads are not supported (vgpu supports 1, 2, 4, 8, "
                                            "16 and 32: tiles within a warp)")
            return None
        return n

    def cg_template_call(self, e: A.Call, short: str) -> CType:
        """tiled_partition<N>(g), plus<T>() and its kin."""
        tid = e.func
        for a in e.args:
            self.value(a)
        if short == "tiled_partition":
            n = self.tile_arg(tid.args, tid.span)
            if n is None or not self.arg_count(e, 1, 1):
                return ERROR
            src = unqual(e.args[0].ctype)
            if src != THREAD_BLOCK and (tile_size(src) is None or tile_size(src) < n):
                self.error(e.args[0].span, f"tiled_partition<{n}> needs a thread_block or a larger tile, not "
                                           f"'{spell(src)}'")
                return ERROR
            t = tile_type(n)
            self.sema.calls[e] = CallInfo(TABLE["this_thread_block"], [], t)
            return t
        if len(tid.args) != 1 or not isinstance(tid.args[0], A.TypeRef):
            self.error(tid.span, f"cooperative_groups::{short} takes one type argument")
            return ERROR
        t = unqual(self.resolve(tid.args[0]))
        if isinstance(t, ErrorType) or not self.arg_count(e, 0, 0):
            return ERROR
        ft = functor_type(short, t)
        self.sema.calls[e] = CallInfo(TABLE["this_thread_block"], [], ft)
        return ft

    def tile_member_call(self, e: A.Call, n: int) -> CType:
        """A member of thread_block_tile<n>."""
        return self._member_rewrite(e, _TILE_MEMBERS, "thread_block_tile",
                                    {"__N": A.IntLit(n, "u", 10, str(n), span=e.span)})

    def group_member_call(self, e: A.Call, coalesced: bool = False) -> CType:
        """A member of a thread_group (a block or a tile passed by its base type) or coalesced_group."""
        table, what = (_COALESCED_MEMBERS, "coalesced_group") if coalesced else (_GROUP_MEMBERS, "thread_group")
        return self._member_rewrite(e, table, what, {"__self": e.func.base})

    def _member_rewrite(self, e: A.Call, table: dict, what: str, subst: dict) -> CType:
        """Check member call e against `table` (name -> (argument count, snippet)) and rewrite it as the
        snippet with `subst` and the arguments (__a0, __a1, ...) substituted (sema.rewrites)."""
        m = e.func
        if m.name not in table:
            self.unsupported(m.span, f"'{m.name}' of {what} is not supported yet")
            return ERROR
        nargs, text = table[m.name]
        if not self.arg_count(e, nargs, nargs):
            return ERROR
        subst = dict(subst, **{f"__a{k}": a for k, a in enumerate(e.args)})
        new = _instantiate(_snippet(text), subst, e.span)
        t = self.expr(new)
        self.sema.rewrites[e] = new
        return t

    def dynamic_tile(self, e: A.Call) -> CType:
        """tiled_partition(group, n): a thread_group of n threads (n a power of two up to 32)."""
        ts = [self.value(a) for a in e.args]
        if not self.arg_count(e, 2, 2) or any(isinstance(t, ErrorType) for t in ts):
            return ERROR
        if unqual(ts[0]) not in (THREAD_BLOCK, THREAD_GROUP) and tile_size(ts[0]) is None:
            self.error(e.args[0].span, f"tiled_partition needs a group, not '{spell(ts[0])}'")
            return ERROR
        self.convertible(UINT, e.args[1], ts[1], "initialize a parameter of")
        n = self.const_value(e.args[1])
        if n is not None and n not in (1, 2, 4, 8, 16, 32):
            self.unsupported(e.args[1].span, f"tiles of {n} threads are not supported (vgpu supports 1, 2, 4, 8, "
                                             "16 and 32: tiles within a warp)")
            return ERROR
        self.sema.calls[e] = CallInfo(TABLE["this_thread_block"], [UINT], THREAD_GROUP, "dyn_tile")
        return THREAD_GROUP

    def group_cast(self, dst: CType, e: A.Expr, src: CType) -> bool:
        """A block or a tile converted to its base type thread_group (recorded in `sema.group_casts`)."""
        if unqual(dst) != THREAD_GROUP or not (unqual(src) == THREAD_BLOCK or tile_size(src) is not None):
            return False
        self.sema.group_casts[e] = tile_size(src) or 0
        return True

    def cg_reduce(self, e: A.Call) -> CType:
        """cg::reduce(tile, value, op)."""
        ts = [self.value(a) for a in e.args]
        if not self.arg_count(e, 3, 3) or any(isinstance(t, ErrorType) for t in ts):
            return ERROR
        n = tile_size(ts[0])
        if n is None:
            self.unsupported(e.args[0].span, f"cg::reduce over a '{spell(ts[0])}' is not supported yet (vgpu "
                                             "reduces over thread_block_tile<N>)")
            return ERROR
        op = unqual(ts[2])
        key = next((k for k, v in _FUNCTORS.items() if v == op), None)
        if key is None:
            self.error(e.args[2].span, f"cg::reduce needs cg::plus<T>(), cg::less<T>(), cg::greater<T>(), "
                                       f"cg::bit_and/bit_or/bit_xor<T>(), not '{spell(op)}'")
            return ERROR
        name, _ = key
        t = unqual(op.info.elem)
        if not is_arith(t) or (name.startswith("bit_") and not is_integer(t)):
            self.error(e.args[2].span, f"cg::{name}<{spell(t)}> cannot reduce")
            return ERROR
        if t not in TABLE["__shfl_sync"].types:
            self.unsupported(e.span, f"cg::reduce of '{spell(t)}' values is not supported yet")
            return ERROR
        self.convertible(t, e.args[1], ts[1], "initialize a parameter of")
        self.sema.calls[e] = CallInfo(TABLE["this_thread_block"], [t], t, "cg_reduce", {"n": n, "op": name})
        return t


__all__ = ["CGChecker", "tile_type", "tile_size", "functor_type", "FUNCTOR_NAMES", "Float", "UINT", "ULLONG"]
