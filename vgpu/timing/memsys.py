"""The memory hierarchy's parts: a set-associative sector cache and a bandwidth reservation.

In:  sector ids (byte address >> 5) and times in cycles.
Out: `Cache.access` -> hit or miss (LRU, 128-byte lines of four 32-byte sectors, a hashed set index,
     allocate on miss); `Reservation.take(t, amount)` -> the cycle at which a resource that serves
     `per_cycle` units a cycle serves `amount` units asked for at `t` (time buckets filled in order of
     asking, so SMs replayed one after another still share it fairly).
"""
from __future__ import annotations

BUCKET = 32                           # cycles per reservation bucket


class Cache:
    def __init__(self, nbytes: float, ways: int, line: int = 128):
        self.ways = max(1, int(ways))
        self.nsets = max(1, int(nbytes) // (line * self.ways))
        self.sets: dict = {}
        self.of_line: dict = {}                 # line -> its set (the hash, computed once)
        self.hits = self.misses = 0

    def access(self, sector: int, allocate: bool = True) -> bool:
        line = sector >> 2
        bit = 1 << (sector & 3)
        d = self.of_line.get(line)
        if d is None:
            x = ((line ^ (line >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF     # splitmix64: a hashed index
            s = (((x ^ (x >> 27)) * 0x94D049BB133111EB) >> 40) % self.nsets
            d = self.sets.get(s)
            if d is None:
                d = self.sets[s] = {}
            self.of_line[line] = d
        m = d.pop(line, None)
        if m is not None:
            d[line] = m | bit
            if m & bit:
                self.hits += 1
                return True
            self.misses += 1
            return False
        self.misses += 1
        if allocate:
            if len(d) >= self.ways:
                del d[next(iter(d))]
            d[line] = bit
        return False


class Reservation:
    """A resource serving `per_cycle` units per cycle (bytes, atomic operations)."""

    def __init__(self, per_cycle: float):
        self.cap = per_cycle * BUCKET
        self.used: dict = {}
        self.skip: dict = {}
        self.total = 0.0

    def _free(self, b: int) -> int:
        """The first bucket from b on with room left."""
        used, cap, skip = self.used, self.cap, self.skip
        path = []
        while used.get(b, 0.0) >= cap:
            path.append(b)
            b = skip.get(b, b + 1)
        for p in path:
            skip[p] = b
        return b

    def take(self, t: float, amount: float) -> float:
        """The cycle at which `amount` units asked for at cycle `t` have been served."""
        used, cap = self.used, self.cap
        self.total += amount
        b = self._free(int(t) // BUCKET)
        while True:
            u = used.get(b, 0.0)
            if amount <= cap - u:
                used[b] = u + amount
                return max(t, b * BUCKET + BUCKET * (u + amount) / cap)
            used[b] = cap
            amount -= cap - u
            b = self._free(b + 1)
