"""Example requests and answers of every route, for the OpenAPI document (/docs shows them)."""
from __future__ import annotations

SAXPY = """__global__ void saxpy(float alpha, const float *x, float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = alpha * x[i] + y[i];
}
"""
_GPU = {"id": 0, "name": "gpu0", "num_sms": 4, "global_mem_size": 67108864, "global_mem_used": 8192,
        "shared_mem_size": 49152, "launches": 1, "transfers": 4, "workers": 0}
_LAUNCH = {"kernel": "saxpy", "file": "kernel.vk", "grid": [4, 1, 1], "block": [256, 1, 1], "shared": 0,
           "instructions": 544, "seconds": 0.004}
_TRANSFER = {"kind": "HtoD", "src": "host", "dst": "gpu0", "bytes": 4096, "link": "PCIe 5.0 x16",
             "modelled_seconds": 1.1e-06, "label": ""}
_ALLOC = {"space": "global", "address": 4294967296, "offset": 0, "size": 4096, "label": None}

EX = {
    "compile_request": {"source": SAXPY, "filename": "saxpy.vk"},
    "run_request": {"source": SAXPY, "kernel": "saxpy", "grid": 4, "block": 256,
                    "args": {"alpha": 2.0, "x": {"random": 1000, "dtype": "float32", "seed": 0},
                             "y": {"arange": 1000, "dtype": "float32"}, "n": 1000},
                    "check": ["memcheck"], "warp_block": [0, 0, 0], "warp": 0},
    "status": {"service": "vgpu", "version": "0.1.0", "uptime_seconds": 12.5, "gpus": 2, "runs_in_progress": 0,
               "limits": {"request_bytes": 4194304, "source_bytes": 262144, "max_blocks": 4096}, "timing_model": False},
    "gpus": [_GPU, {**_GPU, "id": 1, "name": "gpu1"}],
    "state": {**_GPU, "config": {"num_sms": 4, "workers": 0, "global_bytes": 67108864}, "checks": [],
              "global_memory": {"size": 67108864, "used": 8192},
              "sms": [{"id": 0, "status": "idle", "blocks_last_launch": 1}], "allocations": [_ALLOC],
              "transfer_log": [_TRANSFER], "kernel_log": [_LAUNCH]},
    "metrics": {"id": 0, "name": "gpu0", "launches": 1, "instructions": 544, "kernel_seconds": 0.004,
                "transfers": {"HtoD": {"count": 2, "bytes": 8000, "seconds": 2.2e-06}}, "transfer_bytes": 8000,
                "last_launch": _LAUNCH},
    "sm": {"id": 1, "gpu": 0, "status": "idle", "last_launch": _LAUNCH,
           "blocks": [{"block_idx": [1, 0, 0], "status": "finished"}], "assignment": "block b runs on SM b % num_sms"},
    "kernel_log": [_LAUNCH],
    "allocations": [_ALLOC],
    "global_mem": {"gpu": 0, "space": "global", "offset": 0, "address": 4294967296, "size": 8, "dtype": "float32",
                   "data": "0000803f00000040", "values": [1.0, 2.0]},
    "constant_mem": {"gpu": 0, "space": "constant", "offset": 0, "address": 65536, "size": 4, "dtype": "float32",
                     "data": "0000803f", "values": [1.0]},
    "events": {"events": [{"id": 0, "time": 1764870000.0, "kind": "launch", "gpu": 0, "gpu_name": "gpu0", **_LAUNCH}],
               "next": 1, "latest": 0},
    "examples": [{"name": "saxpy.vk", "title": "saxpy", "source": SAXPY, "kernel": "saxpy", "grid": 8, "block": 128,
                  "args": {"alpha": 2.5, "x": {"random": 4096}, "y": {"random": 4096}, "n": 4096}, "constants": {}}],
    "compile": {"ok": True, "file": "saxpy.vk", "diagnostics": [], "ir": "module ...", "asm": ".version 1.0 ...",
                "kernels": [{"name": "saxpy", "params": [{"name": "alpha", "type": "f32", "pointer": False,
                                                          "dtype": "float32"}],
                             "registers": {"%r": 5}, "instructions": 12, "shared_bytes": 0}],
                "ir_lines": [None, None, None, None, 3], "asm_lines": [None, 3], "asm_pcs": [None, ["saxpy", 0]],
                "source_map": {"3": {"ir": [4], "asm": [1]}}},
    "run": {"kernel": "saxpy", "grid": [4, 1, 1], "block": [256, 1, 1], "shared": 0,
            "device": {"id": 3, "name": "gpu3"},
            "outputs": [{"name": "y", "dtype": "float32", "size": 1000, "address": 4294971392, "nbytes": 4000,
                         "min": 0.2, "max": 1000.9, "mean": 500.5, "sum": 500512.0, "nonfinite": 0,
                         "first": [0.54, 1.7]}],
            "fault": None, "reports": [], "timing": None,
            "counters": {"warp_instructions": 544, "divergent_branches": 1, "branch_efficiency": 0.8},
            "occupancy": {"blocks_per_sm": 8, "warps_per_sm": 64, "occupancy": 1.0, "limited_by": ["warps"]},
            "profile": {"kernel": "saxpy", "lines": [{"file": "kernel.vk", "line": 5, "source": "y[i] = ...",
                                                      "warps": 224, "threads": 7000}], "hottest": []},
            "divergence": {"block": [0, 0, 0], "warp": 0, "truncated": False,
                           "stack_columns": ["pc", "reconverge_pc", "mask"],
                           "columns": [{"step": 0, "pc": 0, "mask": 4294967295, "depth": 0, "alive": 4294967295,
                                        "line": 1, "text": "ld.param.f32 %f1, [alpha];",
                                        "stack": [[0, -1, 4294967295]]}]},
            "printf": []},
    "e400": "grid [5000, 1, 1] has 5000 blocks, over the limit of 4096",
    "e404": "no GPU with id 9 (live GPUs: 0, 1)",
    "e413": "source is 300000 bytes, over the limit of 262144 bytes",
    "e429": "2 runs are in progress, the limit: try again shortly",
}
