"""The FastAPI application: the seed's inspection routes, POST /compile, POST /run, the examples and
the explorer page (static files of this package: no build step, nothing fetched from elsewhere).

In:  `create_app(limits=None, cors_origins=())`: the service's `Limits`; origins allowed to call it
     from other sites (none by default: CORS is off).
Out: a FastAPI app (OpenAPI at /openapi.json, Swagger at /docs).  Every refusal is a 4xx JSON answer
     {"detail": "<what was wrong, naming the field, the limit or the GPU/SM>"}.
"""
from __future__ import annotations

import re
from contextlib import asynccontextmanager
import threading
import time
from pathlib import Path
from typing import Any, Optional, Union

from fastapi import Body, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..runtime.device import live_devices
from . import gpus as ins
from .examples_doc import EX
from .limits import Limits
from .listing import compile_source
from .run import RunDevices, RunError, run
from .samples import examples

STATIC = Path(__file__).resolve().parent / "static"
FILENAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}\.vk$")
PYTHON = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\b|def\s+\w+\s*\(|@\s*(cuda\.)?jit\b|@\s*vgpu\.)", re.M)


class CompileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EX["compile_request"]]})
    source: str = Field(description="the .vk source text")
    filename: Optional[str] = Field(None, description="a .vk file name for diagnostics (default kernel.vk)")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EX["run_request"]]})
    source: str = Field(description="the .vk source text (Python kernels are not accepted)")
    filename: Optional[str] = None
    kernel: Optional[str] = Field(None, description="kernel to run (optional when the source has one)")
    grid: Any = Field(1, description="an int or a list of 1-3 ints")
    block: Any = Field(1, description="an int or a list of 1-3 ints")
    shared: Any = Field(0, description="dynamic shared memory per block, bytes")
    args: dict[str, Any] = Field(default_factory=dict, description=(
        'parameter -> a number (scalar), or an array made on the server: {"zeros": N, "dtype": "float32"}, '
        '{"arange": N, "dtype": "int32"}, {"random": N, "dtype": "float32", "seed": 0}, {"npy": "<base64>"}'))
    constants: dict[str, Any] = Field(default_factory=dict, description="__constant__ symbol -> array, as args")
    check: Union[list[str], str, None] = Field(None, description="sanitizers: memcheck, racecheck, synccheck, "
                                                                  "initcheck or all")
    sms: Any = Field(4, description="SMs of the run's device")
    warp_block: Any = Field([0, 0, 0], description="block of the warp whose divergence timeline is recorded")
    warp: Any = Field(0, description="warp index in that block")
    allow_reinterpret: bool = Field(False, description="as vgpuc run --allow-reinterpret")
    timing: Optional[str] = Field(None, description="a timing preset (h100, h200, a100, rtx3080, teaching): "
                                                    "the answer's `timing` holds the modelled time (docs/timing.md)")


ERRORS = {
    400: "bad input (a memory range outside the allocations, a bad dtype, launch geometry over a limit, ...)",
    404: "no GPU or SM with that id",
    413: "the request, source or argument arrays over a limit",
    429: "too many runs in progress",
}


def _ok(example, *errors: int) -> dict:
    """The documented answers of a route: its 200 example and the 4xx it may give ({"detail": "..."})."""
    out = {200: {"content": {"application/json": {"example": example}}}}
    for code in errors:
        out[code] = {"description": ERRORS[code], "content": {"application/json": {"example": {"detail": EX[f"e{code}"]}}}}
    return out


def _source_checks(source: str, filename: Optional[str], limits: Limits) -> str:
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > limits.source_bytes:
        raise HTTPException(413, f"source is {size} bytes, over the limit of {limits.source_bytes} bytes")
    name = filename or "kernel.vk"
    if name.endswith(".py") or PYTHON.search(source):
        raise HTTPException(400, "Python kernels are not accepted by the service (no user Python is ever "
                                 "executed): send .vk source")
    if not FILENAME.match(name):
        raise HTTPException(400, f"filename must be a plain name ending in .vk (letters, digits, _ . -), "
                                 f"not {name!r}")
    return name


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is answered 413 before any route reads it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(send, length.decode("latin-1"))
        chunks, total, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                return await self._refuse(send, f"more than {total}")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return await self.app(scope, replay, send)

    async def _refuse(self, send, size: str):
        response = JSONResponse({"detail": f"request body of {size} bytes is over the limit of {self.limit} bytes"},
                                status_code=413)
        await response({"type": "http"}, None, send)


def create_app(limits: Limits | None = None, cors_origins=()) -> FastAPI:
    """The service (see the module docstring)."""
    limits = limits or Limits()
    @asynccontextmanager
    async def lifespan(app):
        yield
        app.state.devices.close()

    app = FastAPI(title="vgpu service", version=__version__, lifespan=lifespan,
                  description="Compile and run .vk kernels on vgpu's virtual GPU, and inspect the GPUs of this "
                              "process. The explorer page is at /.")
    app.state.limits = limits
    app.state.devices = RunDevices(limits.keep_devices)
    app.state.events = feed = ins.EventFeed()
    app.state.runs = threading.BoundedSemaphore(limits.concurrent_runs)
    app.state.active = 0
    started = time.time()
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["content-type"])
    app.add_middleware(BodyLimit, limit=limits.request_bytes)

    def gpu(gid: int):
        try:
            return ins.device(gid)
        except ins.NotFound as e:
            raise HTTPException(404, str(e)) from None

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/status", responses=_ok(EX["status"]), summary="the service: version, GPUs, limits, runs in progress")
    def status():
        return {"service": "vgpu", "version": __version__, "uptime_seconds": time.time() - started,
                "gpus": len(live_devices()), "runs_in_progress": app.state.active, "limits": limits.as_dict(),
                "timing_model": True}

    @app.get("/gpus", responses=_ok(EX["gpus"]), summary="the live GPUs of this process")
    def gpus():
        return [ins.gpu_summary(d) for d in live_devices()]

    @app.get("/gpus/{id}/state", responses=_ok(EX["state"], 404), summary="a GPU's configuration, SMs, memory, "
             "allocations, recent launches and transfers")
    def state(id: int):
        return ins.gpu_state(gpu(id))

    @app.get("/gpus/{id}/metrics", responses=_ok(EX["metrics"], 404), summary="a GPU's launches, instructions, transfers")
    def metrics(id: int):
        return ins.gpu_metrics(gpu(id))

    @app.get("/gpus/{id}/sm/{sm}", responses=_ok(EX["sm"], 404), summary="one SM: the blocks of the last launch it ran")
    def sm(id: int, sm: int):
        try:
            return ins.sm_detail(gpu(id), sm)
        except ins.NotFound as e:
            raise HTTPException(404, str(e)) from None

    @app.get("/gpus/{id}/kernel_log", responses=_ok(EX["kernel_log"], 404), summary="a GPU's launches, oldest first")
    def kernel_log(id: int):
        return ins.kernel_log(gpu(id))

    @app.get("/gpus/{id}/allocations", responses=_ok(EX["allocations"], 404),
             summary="live allocations of global memory and __constant__ symbols")
    def allocations(id: int):
        return ins.allocations(gpu(id))

    def mem(space, id, offset, size, dtype):
        try:
            return ins.memory(gpu(id), space, offset, size, dtype, limits.memory_read_bytes)
        except ins.BadRequest as e:
            raise HTTPException(400, str(e)) from None

    @app.get("/gpus/{id}/global_mem", responses=_ok(EX["global_mem"], 400, 404),
             summary="bytes of global memory (offset from its base) as hex and typed values")
    def global_mem(id: int, offset: int = Query(0, examples=[0]), size: int = Query(64, examples=[64]),
                   dtype: str = Query("uint8", examples=["float32"])):
        return mem("global", id, offset, size, dtype)

    @app.get("/gpus/{id}/constant_mem", responses=_ok(EX["constant_mem"], 400, 404),
             summary="bytes of the constant bank as hex and typed values")
    def constant_mem(id: int, offset: int = Query(0, examples=[0]), size: int = Query(64, examples=[36]),
                     dtype: str = Query("uint8", examples=["float32"])):
        return mem("constant", id, offset, size, dtype)

    @app.get("/events", responses=_ok(EX["events"], 400), summary="launches, transfers, compiles and runs, by id")
    def events(since: int = Query(0, examples=[0]), limit: int = Query(100, examples=[100])):
        if limit < 1 or limit > limits.events_limit:
            raise HTTPException(400, f"limit must be from 1 to {limits.events_limit}, not {limit}")
        return feed.since(since, limit)

    @app.get("/examples", responses=_ok(EX["examples"]), summary="the example kernels with a run of each")
    def example_list():
        return examples()

    @app.post("/compile", responses=_ok(EX["compile"], 400, 413), summary="diagnostics, IR, assembly and the source-line map")
    def compile_(req: CompileRequest = Body(openapi_examples={"saxpy": {"value": EX["compile_request"]}})):
        name = _source_checks(req.source, req.filename, limits)
        answer, _ = compile_source(req.source, name)
        feed.add("compile", file=name, ok=answer["ok"], diagnostics=len(answer["diagnostics"]))
        return answer

    @app.post("/run", responses=_ok(EX["run"], 400, 413, 429), summary="run a kernel: outputs, counters, per-line profile, "
              "occupancy, a warp's divergence timeline, sanitizer reports")
    def run_(req: RunRequest = Body(openapi_examples={"saxpy": {"value": EX["run_request"]}})):
        name = _source_checks(req.source, req.filename, limits)
        if not app.state.runs.acquire(blocking=False):
            raise HTTPException(429, f"{limits.concurrent_runs} runs are in progress, the limit: try again shortly")
        app.state.active += 1
        try:
            body = req.model_dump()
            body["filename"] = name
            answer = run(body, limits, app.state.devices)
        except RunError as e:
            raise HTTPException(e.status, e.message) from None
        finally:
            app.state.active -= 1
            app.state.runs.release()
        feed.add("run", kernel=answer["kernel"], gpu=answer["device"]["id"], fault=bool(answer["fault"]),
                 instructions=(answer["counters"] or {}).get("warp_instructions"))
        return answer

    return app
