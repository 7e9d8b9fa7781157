"""Write the inputs of the examples to examples/data/ (deterministic; run from anywhere)."""
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2026)
    n, m = 10_000, 64
    return {
        "a": rng.uniform(-1, 1, n).astype(np.float32),
        "b": rng.uniform(-1, 1, n).astype(np.float32),
        "c": np.zeros(n, np.float32),
        "x": rng.uniform(-1, 1, n).astype(np.float32),
        "y": rng.uniform(-1, 1, n).astype(np.float32),
        "big": rng.uniform(0, 1, 1 << 16).astype(np.float32),
        "partial": np.zeros(128, np.float32),
        "A": rng.uniform(-1, 1, (m, m)).astype(np.float32),
        "B": rng.uniform(-1, 1, (m, m)).astype(np.float32),
        "C": np.zeros((m, m), np.float32),
        "bytes": rng.integers(0, 256, n).astype(np.int32),
        "hist": np.zeros(64, np.uint32),
        "start": rng.integers(1, 100_000, 4096).astype(np.uint32),
        "steps": np.zeros(4096, np.int32),
        "scan_in": rng.integers(0, 100, 4000).astype(np.int32),
        "scan_out": np.zeros(4000, np.int32),
        "signal": rng.uniform(-1, 1, n).astype(np.float32),
        "taps": (np.array([1, 8, 28, 56, 70, 56, 28, 8, 1]) / 256).astype(np.float32),
        "smoothed": np.zeros(n, np.float32),
        "img": np.zeros(64 * 48, np.float32),
        **particles(rng, 4096),
        **mixed(np.random.default_rng(1616)),
    }


def mixed(rng) -> dict[str, np.ndarray]:
    """float16 inputs of the mixed-precision matrix-vector product (its own generator)."""
    return {"W16": (rng.standard_normal((256, 128)) / 8).astype(np.float16),
            "x16": rng.standard_normal(128).astype(np.float16), "y16": np.zeros(256, np.float16)}


def particles(rng, n: int) -> dict[str, np.ndarray]:
    """The same particles as an array of structs ('particles') and as a struct of arrays ('px'...)."""
    fields = ("x", "y", "z", "vx", "vy", "vz")
    aos = np.zeros(n, np.dtype([(f, np.float32) for f in fields]))
    for f in fields:
        aos[f] = rng.uniform(-1, 1, n).astype(np.float32)
    return {"particles": aos, **{"p" + f: aos[f].copy() for f in fields}}


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    for name, arr in inputs().items():
        np.save(DATA / f"{name}.npy", arr)
    print(f"wrote {len(inputs())} arrays to {DATA}")
