"""The undo logs of a native run, and putting global memory back from them.

In:  what the generated code wrote while it ran (memops.log_old, memops.log_range): `entries`, an
     (n, 3) int64 array of (address, size, old value) for single stores (an atomic done while other
     threads run is logged as its inverse: size + 256 * UNDO_KIND[op], operand); `records`, an
     (m, RECORD_WORDS) array of (address, entries logged before it, 16 old words) for whole-warp
     stores, 128 contiguous bytes each.
Out: `undo(arena, entries, records)` restores the arena as it was before the run: each byte from the
     earliest log item that holds it (vectorised), or, when inverses are logged, every item taken
     back latest first.
"""
from __future__ import annotations

import numpy as np

from .codegen import UNDO_KIND
from .layout import GLOBAL_BASE

RECORD_BYTES = 128                  # a record: the old bytes of one warp's 32 contiguous 4-byte stores
RECORD_WORDS = 2 + RECORD_BYTES // 8


def undo(arena: np.ndarray, entries: np.ndarray, records: np.ndarray) -> None:
    """Put back the old bytes of the logged stores (see the module docstring)."""
    if not entries.size and not records.size:
        return
    if entries.size and (entries[:, 1] >= 256).any():
        _take_back(arena, entries, records)
        return
    pos, val, key, sub = [], [], [], []
    if entries.size:                         # entry i: key 2 i + 1
        off, size = entries[:, 0] - GLOBAL_BASE, entries[:, 1]
        keep = np.arange(8) < size[:, None]
        n = int(keep.sum())
        pos.append((off[:, None] + np.arange(8))[keep])
        val.append(np.ascontiguousarray(entries[:, 2]).astype("<u8").view(np.uint8).reshape(-1, 8)[keep])
        key.append(np.repeat(2 * np.arange(len(entries)) + 1, size.astype(np.int64)))
        sub.append(np.zeros(n, np.int64))
    if records.size:                         # a record logged after k entries: key 2 k, in log order
        off = records[:, 0] - GLOBAL_BASE
        pos.append((off[:, None] + np.arange(RECORD_BYTES)).ravel())
        val.append(np.ascontiguousarray(records[:, 2:]).view(np.uint8).ravel())
        key.append(np.repeat(2 * records[:, 1], RECORD_BYTES))
        sub.append(np.repeat(np.arange(len(records)), RECORD_BYTES))
    pos, val, key, sub = (np.concatenate(x) for x in (pos, val, key, sub))
    order = np.lexsort((sub, key, pos))
    pos, val = pos[order], val[order]
    first = np.ones(pos.size, bool)
    first[1:] = pos[1:] != pos[:-1]
    arena[pos[first]] = val[first]


def _take_back(arena, entries, records) -> None:
    """Every log item, latest first: a store's old bytes put back, an add subtracted, a xor xored."""
    items = [(2 * i + 1, 0, ("entry", e)) for i, e in enumerate(entries.tolist())]
    items += [(2 * int(r[1]), j, ("record", r)) for j, r in enumerate(records)]
    for _, _, (what, it) in sorted(items, key=lambda t: t[:2], reverse=True):
        if what == "record":
            o = int(it[0]) - GLOBAL_BASE
            arena[o:o + RECORD_BYTES] = np.ascontiguousarray(it[2:]).view(np.uint8)
            continue
        a, n, v = it
        o = a - GLOBAL_BASE
        kind, n = divmod(n, 256)
        mask = (1 << (8 * n)) - 1
        cur = int.from_bytes(arena[o:o + n].tobytes(), "little")
        new = v & mask if kind == 0 else (cur - v) & mask if kind == UNDO_KIND["add"] else cur ^ (v & mask)
        arena[o:o + n] = np.frombuffer(new.to_bytes(n, "little"), np.uint8)
