"""POST /run: compile a `.vk` source, make its arguments on a fresh device, launch it once and
report what happened.

In:  a `RunRequest`-shaped dict (source, kernel, grid, block, args, shared, check, warp, sms), the
     service's `Limits`.
Out: `run(request, limits, keep)` -> the JSON answer: kernel, grid, block, device (id and name of the
     device the run used, kept alive for the memory inspector), outputs (per pointer argument: dtype,
     size, address, offset in global memory, summary and first elements), counters (the launch's counters, as `vgpuc run
     --stats`), occupancy, profile (exactly `vgpuc profile --json`: per-line and per-instruction counters),
     divergence (the chosen warp's timeline: per instruction it executed, the step, pc, active mask,
     live lanes, stack depth, .vk line and the SIMT stack entries), reports (sanitizers), printf,
     ran_on (what ran the launch and why, LaunchResult.ran_on), fault (a device fault: message and where, else null), timing (the timing model's report when the request
     names a preset, else null).
Errors: `RunError(status, message)` for input the service refuses (4xx).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import threading
import time
from collections import deque

import numpy as np

from .. import Device, Module, profile, to_device
from ..runtime.params import ArgumentError
from ..sim import GLOBAL_BASE, DeviceError, InvalidLaunch, Tracer, parse_checks
from .limits import Limits
from .listing import NUMPY_DTYPES, compile_source

DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float32",
          "float64")


class RunError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def dims(value, what: str) -> tuple[int, int, int]:
    """An int or a list of 1-3 positive ints -> (x, y, z)."""
    t = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(t, (list, tuple)) or not 1 <= len(t) <= 3 or \
            any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in t):
        raise RunError(400, f"{what} must be a positive integer or a list of 1 to 3 positive integers, not {value!r}")
    return tuple(t) + (1,) * (3 - len(t))


def _dtype(spec: dict, name: str, default: str | None) -> np.dtype:
    dt = spec.get("dtype", default)
    if dt not in DTYPES:
        raise RunError(400, f"argument {name!r}: dtype must be one of {', '.join(DTYPES)}, not {dt!r}")
    return np.dtype(dt)


def _count(spec: dict, key: str, name: str, limits: Limits) -> int:
    n = spec[key]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise RunError(400, f"argument {name!r}: {key!r} takes a positive number of elements, not {n!r}")
    if n > limits.array_elements:
        raise RunError(413, f"argument {name!r}: {n} elements is over the limit of {limits.array_elements} "
                            "elements per array")
    return n


def make_array(name: str, spec, default_dtype: str | None, limits: Limits) -> np.ndarray:
    """An argument array made on the server from {"zeros"|"arange"|"random": N, "dtype", "seed"} or {"npy": b64}."""
    if not isinstance(spec, dict):
        raise RunError(400, f"argument {name!r} is a pointer: give {{\"zeros\": N}}, {{\"arange\": N}}, "
                            f"{{\"random\": N, \"seed\": 0}} or {{\"npy\": \"<base64>\"}}, not {spec!r}")
    kinds = [k for k in ("zeros", "arange", "random", "npy") if k in spec]
    extra = set(spec) - {"zeros", "arange", "random", "npy", "dtype", "seed"}
    if len(kinds) != 1 or extra:
        raise RunError(400, f"argument {name!r}: give exactly one of zeros, arange, random, npy (with dtype, "
                            f"seed), not the keys {sorted(spec)}")
    kind = kinds[0]
    if kind == "npy":
        return _npy(name, spec["npy"], limits)
    dt = _dtype(spec, name, default_dtype or "float32")
    n = _count(spec, kind, name, limits)
    if kind == "zeros":
        return np.zeros(n, dt)
    if kind == "arange":
        return np.arange(n).astype(dt)
    seed = spec.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise RunError(400, f"argument {name!r}: seed must be a non-negative integer, not {seed!r}")
    rng = np.random.default_rng(seed)
    if dt.kind == "f":
        return rng.random(n).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), n, endpoint=True).astype(dt)


def _npy(name: str, data, limits: Limits) -> np.ndarray:
    if not isinstance(data, str):
        raise RunError(400, f"argument {name!r}: npy takes the base64 text of a .npy file")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RunError(400, f"argument {name!r}: npy is not valid base64") from None
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any unreadable upload is the client's error
        raise RunError(400, f"argument {name!r}: not a .npy file ({type(e).__name__}: {e})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.newbyteorder("=").name not in DTYPES:
        raise RunError(400, f"argument {name!r}: the .npy array's dtype must be one of {', '.join(DTYPES)}, "
                            f"not {getattr(arr, 'dtype', '?')}")
    if arr.size > limits.array_elements:
        raise RunError(413, f"argument {name!r}: {arr.size} elements is over the limit of "
                            f"{limits.array_elements} elements per array")
    if arr.size == 0:
        raise RunError(400, f"argument {name!r}: the .npy array is empty")
    return np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("="), copy=False).ravel())


def scalar(name: str, value, is_float: bool):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RunError(400, f"argument {name!r} is a scalar: give a number, not {value!r}")
    if isinstance(value, float) and not is_float:
        if not value.is_integer():
            raise RunError(400, f"argument {name!r} is an integer parameter, not {value!r}")
        value = int(value)
    return float(value) if is_float else value


def summary(a: np.ndarray, preview: int) -> dict:
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    num = finite.astype(np.float64) if finite.size else finite

    def f(x):
        x = float(x)
        return x if math.isfinite(x) else None
    return {"min": f(num.min()) if num.size else None, "max": f(num.max()) if num.size else None,
            "mean": f(num.mean()) if num.size else None, "sum": f(num.sum()) if num.size else None,
            "nonfinite": int(a.size - finite.size), "first": [v.item() if np.isfinite(v) else str(v)
                                                                for v in a[:preview]]}


class StackTracer(Tracer):
    """The Tracer's divergence record, plus the chosen warp's SIMT stack entries at each step."""

    def __init__(self, divergence, max_columns: int):
        super().__init__(divergence=divergence, max_columns=max_columns)
        self.stacks: list = []

    def issue(self, wave, pc, g, masks) -> None:
        before = len(self.columns)
        super().issue(wave, pc, g, masks)
        if len(self.columns) > before:
            entries = getattr(wave.simt, "entries", None)
            try:
                stack = [[int(e[0]), int(e[1]), int(e[2])] for e in entries(self.watch)] if entries else None
            except Exception:  # noqa: BLE001 - the stack is extra detail; the timeline stays
                stack = None
            self.stacks.append(stack)


def divergence(tracer: StackTracer, block, warp) -> dict:
    cols = [{"step": c[0], "pc": c[1], "mask": c[2], "depth": c[3], "alive": c[4], "line": c[5], "text": c[6],
             "stack": s} for c, s in zip(tracer.columns, tracer.stacks)]
    return {"block": list(block), "warp": warp, "columns": cols, "truncated": tracer.truncated,
            "stack_columns": ["pc", "reconverge_pc", "mask"]}


def fault_json(e: DeviceError) -> dict:
    out = {"type": type(e).__name__, "message": str(e)}
    for k in ("kernel", "file", "line", "source_line", "block", "thread", "address", "size"):
        v = getattr(e, k, None)
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


class WallClock:
    """A launch's progress callback that stops it (by raising) once it has run `limit` seconds."""

    def __init__(self, limit: float):
        self.limit, self.start, self.tripped = limit, time.monotonic(), 0.0

    def __call__(self, done: int, total: int) -> None:
        spent = time.monotonic() - self.start
        if spent > self.limit:
            self.tripped = spent
            raise TimeoutError(f"over the time limit after {done} of {total} blocks")


class RunDevices:
    """The devices of the last `keep` runs (with their argument arrays), kept for inspection."""

    def __init__(self, keep: int):
        self.kept: deque = deque()
        self.lock = threading.Lock()
        self.keep = keep

    def add(self, device, arrays) -> None:
        with self.lock:
            self.kept.append((device, arrays))
            while len(self.kept) > self.keep:
                old, _ = self.kept.popleft()
                old.close()

    def close(self) -> None:
        with self.lock:
            while self.kept:
                self.kept.popleft()[0].close()


_SIMULATING = threading.Lock()      # one simulation at a time in this process (the GIL gives no parallelism)


def run(req: dict, limits: Limits, devices: RunDevices) -> dict:
    """See the module docstring (admitted runs take turns: `Limits.concurrent_runs` bounds the queue)."""
    with _SIMULATING:
        return _run(req, limits, devices)


def _run(req: dict, limits: Limits, devices: RunDevices) -> dict:
    grid, block = dims(req.get("grid", 1), "grid"), dims(req.get("block", 1), "block")
    nblocks, nthreads = math.prod(grid), math.prod(block)
    if nblocks > limits.max_blocks:
        raise RunError(400, f"grid {list(grid)} has {nblocks} blocks, over the limit of {limits.max_blocks}")
    if nblocks * nthreads > limits.max_threads:
        raise RunError(400, f"grid {list(grid)} x block {list(block)} is {nblocks * nthreads} threads, over the "
                            f"limit of {limits.max_threads}")
    sms = req.get("sms", 4)
    if not isinstance(sms, int) or not 1 <= sms <= limits.max_sms:
        raise RunError(400, f"sms must be an integer from 1 to {limits.max_sms}, not {sms!r}")
    try:
        checks = parse_checks(req.get("check") or None)
    except ValueError as e:
        raise RunError(400, f"check: {e}") from None
    shared = req.get("shared", 0)
    if not isinstance(shared, int) or shared < 0:
        raise RunError(400, f"shared must be a non-negative integer, not {shared!r}")
    wblock, warp = dims_or_zero(req.get("warp_block", [0, 0, 0])), req.get("warp", 0)
    if not isinstance(warp, int) or warp < 0:
        raise RunError(400, f"warp must be a non-negative integer, not {warp!r}")

    compiled, program = compile_source(req["source"], req.get("filename") or "kernel.vk")
    if program is None:
        raise RunError(400, "the source does not compile:\n" + "\n".join(d["text"] for d in compiled["diagnostics"]))
    module = Module(program)
    names = module.kernel_names
    kname = req.get("kernel") or (names[0] if len(names) == 1 else None)
    if kname is None or kname not in names:
        raise RunError(400, f"kernel {kname!r} is not in the source (kernels: {', '.join(names) or 'none'})"
                       if kname else f"give kernel: the source has kernels {', '.join(names) or '(none)'}")
    kernel = module.get_function(kname)
    args = req.get("args") or {}
    unknown = [n for n in args if n not in kernel.param_names]
    missing = [n for n in kernel.param_names if n not in args]
    if unknown or missing:
        raise RunError(400, f"kernel {kname}({', '.join(kernel.param_names)}): " + "; ".join(
            ([f"no parameter {', '.join(map(repr, unknown))}"] if unknown else []) +
            ([f"missing argument(s) {', '.join(map(repr, missing))}"] if missing else [])))
    hosts, values, total = {}, [], 0
    for p in kernel.code.params:
        if p.is_pointer:
            pointee = getattr(p, "pointee", None)
            a = make_array(p.name, args[p.name], NUMPY_DTYPES.get(getattr(pointee, "name", ""), None), limits)
            total += a.nbytes
            if total > limits.request_memory:
                raise RunError(413, f"the argument arrays need more than the limit of {limits.request_memory} "
                                    f"bytes per run (at {p.name!r})")
            hosts[p.name] = a
        else:
            values.append((p.name, scalar(p.name, args[p.name], p.type.is_float)))

    preset = req.get("timing")
    if preset is not None:
        from ..timing.preset import NAMES
        if preset not in NAMES:                   # names only: a path would read a server file
            raise RunError(400, f"unknown timing preset {preset!r}: use one of {', '.join(NAMES)}")
    dev = Device(num_sms=sms, workers=0, global_bytes=limits.device_bytes, counters=True, check=checks or None,
                 max_steps=limits.max_steps, max_instructions=limits.max_instructions, name=None, timing=preset)
    if hasattr(dev.sim, "echo_printf"):
        dev.sim.echo_printf = False
    arrays = {n: to_device(a, device=dev) for n, a in hosts.items()}
    devices.add(dev, arrays)
    set_constants(module, req.get("constants") or {}, dev, limits)
    launch_args, scalars = [], dict(values)
    for p in kernel.code.params:
        launch_args.append(arrays[p.name] if p.is_pointer else scalars[p.name])
    tracer = StackTracer((wblock, warp), limits.divergence_columns)
    result, fault, reports = None, None, []
    clock = WallClock(limits.max_seconds)
    try:
        result = kernel(*launch_args, grid=grid, block=block, shared=shared, device=dev, trace=tracer,
                        allow_reinterpret=bool(req.get("allow_reinterpret", False)), progress=clock)
        reports = result.reports
    except ArgumentError as e:
        raise RunError(400, str(e)) from None
    except InvalidLaunch as e:                    # the geometry or shared memory asked for: the request's fault
        raise RunError(400, f"invalid launch: {e}") from None
    except DeviceError as e:
        fault, reports = fault_json(e), getattr(e, "reports", [])
        if clock.tripped:
            fault.update(type="TimeLimit", message=f"kernel '{kname}': stopped after {clock.tripped:.1f} s, over the "
                                                   f"service's limit of {limits.max_seconds} s per run")
    outputs = []
    for n, arr in arrays.items():
        host = arr.copy_to_host()
        outputs.append({"name": n, "dtype": str(host.dtype), "size": int(host.size), "address": arr.address,
                        "offset": arr.address - GLOBAL_BASE,
                        "nbytes": int(host.nbytes), **summary(host, limits.preview_elements)})
    answer = {"kernel": kname, "grid": list(grid), "block": list(block), "shared": shared,
              "device": {"id": dev.id, "name": dev.name}, "outputs": outputs, "fault": fault,
              "reports": [{"tool": r.tool, "kind": r.kind, "line": r.line, "text": r.format()} for r in reports],
              "divergence": divergence(tracer, wblock, warp), "timing": (result.timing.as_dict() if getattr(result, "timing", None) is not None
                                                          else None),
              "counters": None, "occupancy": None, "profile": None, "printf": [], "ran_on": None}
    if result is not None:
        counters = result.stats.as_dict()
        answer.update(counters=counters, occupancy=counters.get("occupancy"), ran_on=result.ran_on or None,
                      profile=json.loads(profile.to_json(result, program)), printf=list(result.printf)[:1000])
    return answer


def set_constants(module, constants, dev, limits: Limits) -> None:
    """Fill __constant__ symbols from {name: array spec} before the launch."""
    if not isinstance(constants, dict):
        raise RunError(400, f"constants maps __constant__ symbol names to arrays, not {constants!r}")
    for name, spec in constants.items():
        arr = make_array(f"constant {name}", spec, None, limits)
        try:
            module.set_constant(name, arr, device=dev)
        except KeyError as e:
            raise RunError(400, f"constants: {e.args[0]}") from None
        except (TypeError, ValueError) as e:
            raise RunError(400, f"constants: {name}: {e}") from None


def dims_or_zero(value) -> tuple[int, int, int]:
    """A block coordinate: an int or a list of 1-3 non-negative ints -> (x, y, z)."""
    t = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(t, (list, tuple)) or not 1 <= len(t) <= 3 or \
            any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in t):
        raise RunError(400, f"warp_block must be a non-negative integer or a list of 1 to 3 of them, not {value!r}")
    return tuple(t) + (0,) * (3 - len(t))
