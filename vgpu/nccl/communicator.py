"""`Communicator`: NCCL-shaped collectives over one DeviceArray per device, as vgpu kernels plus
peer copies (rings and pipelined chains), so that every step shows in `comm.trace`.

In:  devices (rank i is devices[i]); per collective a list of send and a list of receive arrays, one
     per rank, on that rank's device (the same array in both lists: in place).
Out: the receive arrays filled as NCCL defines; a `CollectiveRecord` per call (returned and in
     `comm.log`) with its modelled time, and algorithm and bus bandwidth as nccl-tests define them.

Reductions follow a fixed order (a ring's or a chain's), so a result does not depend on timing;
integer results equal numpy's, float results are numpy's within the rounding of that order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..runtime.array import DeviceArray, empty
from ..runtime.device import Device
from . import schedule
from .kernels import check_op, suffix

PIPELINE_CHUNKS = 8          # chunks of a broadcast or reduce, so that the hops of the chain overlap


@dataclass(frozen=True)
class CollectiveRecord:
    """One collective: name, S (bytes, as nccl-tests count it), ranks, steps, modelled seconds, and
    algbw = S / seconds, busbw = algbw * factor (all_reduce 2(n-1)/n; all_gather, reduce_scatter
    (n-1)/n; broadcast, reduce, send/recv 1), both in bytes/s."""
    name: str
    nbytes: int
    ranks: int
    steps: int
    seconds: float
    algbw: float
    busbw: float


def _tree(buf, tmp, op) -> list:
    """All-reduce steps over a binomial tree: up, rank r (r mod 2k = k) sends its partial result to
    r - k, which folds it into its own; then the result comes back down the same tree."""
    n, steps, k = len(buf), [], 1
    while k < n:
        pairs = [(r, r - k) for r in range(k, n, 2 * k)]
        steps.append([("copy", tmp[dst], buf[src], f"partial of rank {src}") for src, dst in pairs] +
                     [("reduce", buf[dst], tmp[dst], op, f"partial of rank {src}") for src, dst in pairs])
        k *= 2
    while k > 1:
        k //= 2
        steps.append([("copy", buf[r], buf[r - k], "result") for r in range(k, n, 2 * k)])
    return steps


BUS_FACTOR = {"all_reduce": lambda n: 2 * (n - 1) / n, "all_gather": lambda n: (n - 1) / n,
              "reduce_scatter": lambda n: (n - 1) / n, "broadcast": lambda n: 1.0, "reduce": lambda n: 1.0,
              "send_recv": lambda n: 1.0}


class Communicator:
    """Collectives over `devices` (rank i = devices[i]); `trace` holds the last call's steps."""

    def __init__(self, devices):
        self.devices = list(devices)
        if not self.devices:
            raise ValueError("a Communicator needs at least one device")
        for d in self.devices:
            if not isinstance(d, Device):
                raise TypeError(f"Communicator takes vgpu.Devices, not {type(d).__name__}")
        if len({d.id for d in self.devices}) != len(self.devices):
            raise ValueError("a device may appear only once in a Communicator")
        self.log: list[CollectiveRecord] = []
        self.trace: list[str] = []

    @property
    def size(self) -> int:
        return len(self.devices)

    def rank_of(self, device: Device) -> int:
        for i, d in enumerate(self.devices):
            if d is device:
                return i
        raise ValueError(f"device {device.name} is not in this communicator "
                         f"({', '.join(d.name for d in self.devices)})")

    # -- argument checks -------------------------------------------------------------------------------
    def _arrays(self, arrays, what: str, name: str, allow_none=False) -> list:
        if isinstance(arrays, DeviceArray):
            arrays = [arrays]
        arrays = list(arrays)
        if len(arrays) != self.size:
            raise ValueError(f"{name}: {what} needs one array per rank ({self.size}), {len(arrays)} given")
        for r, (a, d) in enumerate(zip(arrays, self.devices)):
            if a is None and allow_none:
                continue
            if not isinstance(a, DeviceArray):
                raise TypeError(f"{name}: {what}[{r}] must be a DeviceArray, not {type(a).__name__}")
            if a.device is not d:
                raise ValueError(f"{name}: {what}[{r}] is on {a.device.name}, but rank {r} is {d.name}")
            a._check_live()
        return [None if a is None else a.ravel() for a in arrays]

    @staticmethod
    def _same(arrays, count: int, dtype, name: str, what: str) -> None:
        for r, a in enumerate(arrays):
            if a is None:
                continue
            if a.dtype != dtype:
                raise TypeError(f"{name}: {what}[{r}] is {a.dtype}, expected {dtype}")
            if a.size != count:
                raise ValueError(f"{name}: {what}[{r}] has {a.size} elements, expected {count}")

    def _record(self, name: str, nbytes: int, steps, seconds: float) -> CollectiveRecord:
        n = self.size
        algbw = nbytes / seconds if seconds > 0 else 0.0
        rec = CollectiveRecord(name, nbytes, n, len(steps), seconds, algbw, algbw * BUS_FACTOR[name](n))
        self.log.append(rec)
        return rec

    def _run(self, name: str, steps, nbytes: int, scratch=()) -> CollectiveRecord:
        steps = [s for s in steps if s]
        self.trace = [f"{name} over {self.size} ranks ({', '.join(d.name for d in self.devices)}), {nbytes} B"]
        try:
            seconds = schedule.run(steps, self.trace)
        finally:
            for a in scratch:
                a.free()
        return self._record(name, nbytes, steps, seconds)

    # -- collectives -----------------------------------------------------------------------------------
    def all_reduce(self, send, recv, op: str = "sum", algorithm: str = "ring") -> CollectiveRecord:
        """recv[r] = send[0] OP send[1] ... OP send[n-1] on every rank.  algorithm 'ring' (NCCL's for
        large messages: reduce-scatter then all-gather, 2(n-1) steps of 1/n of the data) or 'tree' (a
        binomial tree up to rank 0 and back down: 2 log2(n) steps of all the data, for small messages)."""
        check_op(op)
        if algorithm not in ("ring", "tree"):
            raise ValueError(f"all_reduce: algorithm must be 'ring' or 'tree', not {algorithm!r}")
        send, recv = self._arrays(send, "send", "all_reduce"), self._arrays(recv, "recv", "all_reduce")
        count, dtype, n = send[0].size, send[0].dtype, self.size
        suffix(dtype)
        self._same(send, count, dtype, "all_reduce", "send")
        self._same(recv, count, dtype, "all_reduce", "recv")
        steps = [[("local", recv[r], send[r], "send -> recv") for r in range(n) if recv[r].address != send[r].address]]
        if algorithm == "tree":
            tmp = [empty(count, dtype, d) for d in self.devices] if n > 1 else []
            steps += _tree(recv, tmp, op)
            if op == "avg" and n > 1:
                steps.append([("divide", recv[r], n, "recv") for r in range(n)])
            return self._run("all_reduce", steps, count * dtype.itemsize, tmp)
        chunks = schedule.bounds(count, n)
        tmp = [empty(max(hi - lo for lo, hi in chunks), dtype, d) for d in self.devices] if n > 1 else []
        for s in range(n - 1):                       # reduce-scatter: rank r ends with chunk r+1 complete
            step = []
            for r in range(n):
                c, dst = (r - s) % n, (r + 1) % n
                lo, hi = chunks[c]
                step.append(("copy", tmp[dst][:hi - lo], recv[r][lo:hi], f"chunk {c}"))
            for r in range(n):
                c, dst = (r - s) % n, (r + 1) % n
                lo, hi = chunks[c]
                step.append(("reduce", recv[dst][lo:hi], tmp[dst][:hi - lo], op, f"chunk {c}"))
            steps.append(step)
        for s in range(n - 1):                       # all-gather of the complete chunks
            step = []
            for r in range(n):
                c, dst = (r + 1 - s) % n, (r + 1) % n
                lo, hi = chunks[c]
                step.append(("copy", recv[dst][lo:hi], recv[r][lo:hi], f"chunk {c}"))
            steps.append(step)
        if op == "avg" and n > 1:
            steps.append([("divide", recv[r], n, "recv") for r in range(n)])
        return self._run("all_reduce", steps, count * dtype.itemsize, tmp)

    def broadcast(self, send, recv, root: int = 0) -> CollectiveRecord:
        """recv[r] = send[root] on every rank (a pipelined chain from the root); send[r] for r != root
        is not read (None allowed)."""
        root = self._root(root, "broadcast")
        send = self._arrays(send, "send", "broadcast", allow_none=True)
        recv = self._arrays(recv, "recv", "broadcast")
        if send[root] is None:
            raise ValueError(f"broadcast: send[{root}] (the root's) is required")
        count, dtype, n = send[root].size, send[root].dtype, self.size
        self._same([send[root]], count, dtype, "broadcast", "send")
        self._same(recv, count, dtype, "broadcast", "recv")
        steps = []
        if recv[root].address != send[root].address:
            steps.append([("local", recv[root], send[root], "send -> recv")])
        chunks = schedule.bounds(count, max(1, min(PIPELINE_CHUNKS, count)))
        order = [(root + i) % n for i in range(n)]
        for t in range(len(chunks) + n - 2):
            step = []
            for h in range(n - 1):
                k = t - h
                if 0 <= k < len(chunks):
                    lo, hi = chunks[k]
                    a, b = order[h], order[h + 1]
                    step.append(("copy", recv[b][lo:hi], recv[a][lo:hi], f"chunk {k}"))
            steps.append(step)
        return self._run("broadcast", steps, count * dtype.itemsize)

    def reduce(self, send, recv, op: str = "sum", root: int = 0) -> CollectiveRecord:
        """recv[root] = send[0] OP ... OP send[n-1] (a pipelined chain ending at the root); recv[r] for
        r != root is not written (None allowed)."""
        check_op(op)
        root = self._root(root, "reduce")
        send = self._arrays(send, "send", "reduce")
        recv = self._arrays(recv, "recv", "reduce", allow_none=True)
        if recv[root] is None:
            raise ValueError(f"reduce: recv[{root}] (the root's) is required")
        count, dtype, n = send[0].size, send[0].dtype, self.size
        suffix(dtype)
        self._same(send, count, dtype, "reduce", "send")
        self._same([recv[root]], count, dtype, "reduce", "recv")
        if n == 1:
            steps = [[("local", recv[0], send[0], "send -> recv")]] if recv[0].address != send[0].address else []
            return self._run("reduce", steps, count * dtype.itemsize)
        order = [(root + 1 + i) % n for i in range(n)]          # the chain; it ends at the root
        acc = {r: (recv[r] if r == root else None) for r in range(n)}
        scratch = []
        for r in order[1:-1]:
            acc[r] = empty(count, dtype, self.devices[r])
            scratch.append(acc[r])
        acc[order[0]] = send[order[0]]                           # the first hop sends its own data
        first = [("local", acc[r], send[r], "send -> acc") for r in order[1:]
                 if acc[r].address != send[r].address]
        steps = [first] if first else []
        chunks = schedule.bounds(count, max(1, min(PIPELINE_CHUNKS, count)))
        tmp = {r: empty(max(hi - lo for lo, hi in chunks), dtype, self.devices[r]) for r in order[1:]}
        scratch += list(tmp.values())
        for t in range(len(chunks) + n - 2):
            copies, kernels = [], []
            for h in range(n - 1):
                k = t - h
                if 0 <= k < len(chunks):
                    lo, hi = chunks[k]
                    a, b = order[h], order[h + 1]
                    copies.append(("copy", tmp[b][:hi - lo], acc[a][lo:hi], f"chunk {k}"))
                    kernels.append(("reduce", acc[b][lo:hi], tmp[b][:hi - lo], op, f"chunk {k}"))
            steps.append(copies + kernels)
        if op == "avg" and n > 1:
            steps.append([("divide", recv[root], n, "recv")])
        return self._run("reduce", steps, count * dtype.itemsize, scratch)

    def all_gather(self, send, recv) -> CollectiveRecord:
        """recv[r][i*c:(i+1)*c] = send[i] on every rank (c elements each; a ring)."""
        send, recv = self._arrays(send, "send", "all_gather"), self._arrays(recv, "recv", "all_gather")
        count, dtype, n = send[0].size, send[0].dtype, self.size
        self._same(send, count, dtype, "all_gather", "send")
        self._same(recv, n * count, dtype, "all_gather", "recv")
        steps = [[("local", recv[r][r * count:(r + 1) * count], send[r], "send -> recv") for r in range(n)
                  if recv[r].address + r * count * dtype.itemsize != send[r].address]]
        for s in range(n - 1):
            step = []
            for r in range(n):
                c, dst = (r - s) % n, (r + 1) % n
                step.append(("copy", recv[dst][c * count:(c + 1) * count], recv[r][c * count:(c + 1) * count],
                             f"block {c}"))
            steps.append(step)
        return self._run("all_gather", steps, n * count * dtype.itemsize)

    def reduce_scatter(self, send, recv, op: str = "sum") -> CollectiveRecord:
        """recv[r] = (send[0] OP ... OP send[n-1])[r*c:(r+1)*c] (c = recv's elements; a ring)."""
        check_op(op)
        send, recv = self._arrays(send, "send", "reduce_scatter"), self._arrays(recv, "recv", "reduce_scatter")
        count, dtype, n = recv[0].size, recv[0].dtype, self.size
        suffix(dtype)
        self._same(recv, count, dtype, "reduce_scatter", "recv")
        self._same(send, n * count, dtype, "reduce_scatter", "send")
        work = [empty(n * count, dtype, d) for d in self.devices]
        tmp = [empty(count, dtype, d) for d in self.devices] if n > 1 else []
        steps = [[("local", work[r], send[r], "send -> work") for r in range(n)]]
        for s in range(n - 1):                 # rank r ends with block r complete
            step = []
            for r in range(n):
                c, dst = (r - s - 1) % n, (r + 1) % n
                step.append(("copy", tmp[dst], work[r][c * count:(c + 1) * count], f"block {c}"))
            for r in range(n):
                c, dst = (r - s - 1) % n, (r + 1) % n
                step.append(("reduce", work[dst][c * count:(c + 1) * count], tmp[dst], op, f"block {c}"))
            steps.append(step)
        last = [("local", recv[r], work[r][r * count:(r + 1) * count], "work -> recv") for r in range(n)]
        if op == "avg" and n > 1:
            steps.append([("divide", work[r][r * count:(r + 1) * count], n, "block") for r in range(n)])
        steps.append(last)
        return self._run("reduce_scatter", steps, n * count * dtype.itemsize, work + tmp)

    # -- point to point --------------------------------------------------------------------------------
    def send(self, buf: DeviceArray, peer: int) -> None:
        """Send `buf` (on this communicator's rank that holds it) to rank `peer`; matched with that
        rank's recv when the enclosing `vgpu.nccl.group()` ends (alone: a group of one)."""
        from .group import post
        post(self, "send", buf, peer)

    def recv(self, buf: DeviceArray, peer: int) -> None:
        """Receive into `buf` from rank `peer` (see send)."""
        from .group import post
        post(self, "recv", buf, peer)

    def _root(self, root: int, name: str) -> int:
        if not isinstance(root, (int, np.integer)) or not 0 <= int(root) < self.size:
            raise ValueError(f"{name}: root must be a rank in 0..{self.size - 1}, not {root!r}")
        return int(root)

    def __repr__(self) -> str:
        return f"vgpu.nccl.Communicator({', '.join(d.name for d in self.devices)})"
