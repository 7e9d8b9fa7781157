"""`vgpu.nccl.group()`: point-to-point sends and receives, matched when the group ends.

In:  `comm.send(buf, peer)` / `comm.recv(buf, peer)` calls (the rank is the one whose device holds
     `buf`), posted inside `with vgpu.nccl.group():` (or alone, each its own group).
Out: at the end of the outermost group, each send matched with the receive its peer posted for it
     (in posting order per pair of ranks) and run as one step of peer copies; a send or receive
     with no partner raises `DeadlockError` naming the ranks (real NCCL would wait forever).
"""
from __future__ import annotations

import contextlib
import threading

from ..runtime.array import DeviceArray

_state = threading.local()


class DeadlockError(RuntimeError):
    """A send or receive that no rank matches: the program would hang on a real GPU."""


@contextlib.contextmanager
def group():
    """Collect sends and receives; match and run them when the outermost group ends."""
    depth = getattr(_state, "depth", 0)
    if depth == 0:
        _state.ops = []
    _state.depth = depth + 1
    try:
        yield
    except BaseException:
        if depth == 0:
            _state.ops = []
        raise
    finally:
        _state.depth = depth
    if depth == 0:
        ops, _state.ops = _state.ops, []
        _match_and_run(ops)


def post(comm, kind: str, buf, peer) -> None:
    if not isinstance(buf, DeviceArray):
        raise TypeError(f"{kind}: buf must be a DeviceArray, not {type(buf).__name__}")
    rank = comm.rank_of(buf.device)
    if not isinstance(peer, int) or not 0 <= peer < comm.size:
        raise ValueError(f"{kind} from rank {rank}: peer must be a rank in 0..{comm.size - 1}, not {peer!r}")
    op = (comm, kind, rank, peer, buf)
    if getattr(_state, "depth", 0):
        _state.ops.append(op)
    else:
        _match_and_run([op])


def _match_and_run(ops) -> None:
    sends = [o for o in ops if o[1] == "send"]
    recvs = [o for o in ops if o[1] == "recv"]
    pairs, problems = [], []
    for s in sends:
        comm, _, src, dst, buf = s
        match = next((r for r in recvs if r[0] is comm and r[2] == dst and r[3] == src), None)
        if match is None:
            problems.append(f"rank {src} sends {buf.nbytes} B to rank {dst}, but rank {dst} posts no recv "
                            f"from rank {src}")
            continue
        recvs.remove(match)
        rbuf = match[4]
        if rbuf.nbytes != buf.nbytes or rbuf.dtype != buf.dtype:
            raise ValueError(f"send from rank {src} ({buf.size} x {buf.dtype}) does not match the recv on rank "
                             f"{dst} ({rbuf.size} x {rbuf.dtype})")
        pairs.append((comm, src, dst, buf, rbuf))
    for r in recvs:
        problems.append(f"rank {r[2]} waits to recv {r[4].nbytes} B from rank {r[3]}, but rank {r[3]} posts "
                        f"no send to rank {r[2]}")
    if problems:
        raise DeadlockError("deadlock: " + "; ".join(problems) +
                            " (a send and its recv must be posted in the same vgpu.nccl.group())")
    by_comm: dict[int, list] = {}
    for p in pairs:
        by_comm.setdefault(id(p[0]), []).append(p)
    for group_pairs in by_comm.values():
        comm = group_pairs[0][0]
        step = [("copy", rbuf.ravel(), buf.ravel(), f"send {src} -> recv {dst}")
                for _, src, dst, buf, rbuf in group_pairs]
        nbytes = sum(p[3].nbytes for p in group_pairs)
        comm._run("send_recv", [step], nbytes)
