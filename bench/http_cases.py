"""The HTTP cases: baseline A, handler ingest, batch ingest, and the DEBUG loopback push()."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import messages
from loadgen import write_requests
from procs import Proc, cpu_seconds, free_port, rss_mb, run_json, script
from project import Project


@dataclass
class Context:
    """What every case shares: the baked project, a scratch folder, sizes and the load client's settings."""

    project: Project
    work: Path
    quick: bool
    connections: int = 16

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    @property
    def host(self) -> str:
        return "127.0.0.1"


def serve_project(ctx: Context, name: str, debug: bool, **settings: object) -> tuple[Proc, int]:
    """`python -m q2ext run` of the baked project on a free port, once it answers /health."""
    port = free_port()
    env = ctx.project.env(DEBUG=int(debug), PORT=port, HOST=ctx.host, **settings)
    proc = Proc(name, ctx.project.python("-m", "q2ext", "run"), ctx.project.root, ctx.work, env)
    proc.wait_http(f"http://{ctx.host}:{port}/health")
    return proc, port


def serve_baseline(ctx: Context) -> tuple[Proc, int]:
    """Baseline A's minimal Tornado server on a free port."""
    port = free_port()
    proc = Proc("baseline-a", [*script("baseline_server.py"), "--port", str(port)], ctx.work, ctx.work)
    proc.wait_http(f"http://{ctx.host}:{port}/")
    return proc, port


def measure(ctx: Context, server: Proc, port: int, posts: list[bytes], warm: list[bytes], batch: int = 1) -> dict:
    """The load client's figures plus the server's CPU per request and RSS; stops the server."""
    try:
        return measure_running(ctx, server, port, posts, warm, batch)
    finally:
        server.stop()


def measure_running(
    ctx: Context, server: Proc, port: int, posts: list[bytes], warm: list[bytes], batch: int = 1
) -> dict:
    """measure(), leaving the server up for the next slice."""
    cpu = cpu_seconds(server.pid)
    result = load(ctx, port, posts, warm, batch)
    result["server_cpu_us_per_request"] = (cpu_seconds(server.pid) - cpu) / (len(posts) + len(warm)) * 1e6
    result["server_rss_mb"] = rss_mb(server.pid)
    return result


def load(ctx: Context, port: int, posts: list[bytes], warm: list[bytes], batch: int = 1) -> dict:
    """Run the load client against a port: warm-up requests first, then the measured ones."""
    main, warmup = ctx.work / "requests.bin", ctx.work / "warmup.bin"
    write_requests(main, posts)
    write_requests(warmup, warm)
    argv = [*script("loadgen.py"), "--port", str(port), "--requests", str(main), "--warmup", str(warmup)]
    argv += ["--connections", str(ctx.connections), "--batch", str(batch)]
    return run_json(argv, ctx.work)


def posts_for(ctx: Context, ring, count: int, prefix: str) -> list[bytes]:
    return messages.single_posts(ring, count, f"{ctx.host}", prefix)


def single_slice(ctx: Context, ring, prefix: str) -> tuple[list[bytes], list[bytes]]:
    """The sealed single POSTs of one slice of baseline A / handler ingest, and their warm-up."""
    return posts_for(ctx, ring, ctx.size(4_000, 1_000), prefix), posts_for(ctx, ring, ctx.size(500, 200), prefix + "w")


def baseline_a(ctx: Context, posts: list[bytes], warm: list[bytes]) -> dict:
    """The same POSTs, answered without an envelope: what Tornado and the load client alone reach."""
    return measure(ctx, *serve_baseline(ctx), posts, warm)


def serve_handler(ctx: Context, **settings: object) -> tuple[Proc, int]:
    """The baked project out of DEBUG (AllCaps), as handler ingest measures it (settings: e.g. SEEN_IDS_URL)."""
    name = "handler-ingest-pg" if settings.get("SEEN_IDS_URL") else "handler-ingest"
    return serve_project(ctx, name, debug=False, **settings)


def batch_slice(ctx: Context, ring, server: Proc, port: int, per_post: int, prefix: str) -> dict:
    """One slice of batch ingest: per_post sealed records per POST (batch.CONTENT_TYPE) to a running handler."""
    records = ctx.size(20_000, 1_000)
    posts = messages.batch_posts(ring, records, per_post, ctx.host, prefix)
    warm = messages.batch_posts(ring, ctx.size(1_000, 200), per_post, ctx.host, prefix + "w")
    result = measure_running(ctx, server, port, posts, warm, batch=per_post)
    return {**result, "records": records, "per_post": per_post}


def loopback(ctx: Context) -> dict:
    """push() to handle() in DEBUG: a pusher process POSTs each push to the server (LoopbackBus)."""
    proc, port = serve_project(ctx, "loopback-server", debug=True)
    env = ctx.project.env(DEBUG=1, PORT=port, HOST=ctx.host)
    try:
        push(ctx, env, ctx.size(1_000, 100))  # warm-up
        cpu, count = cpu_seconds(proc.pid), ctx.size(5_000, 1_000)
        result = push(ctx, env, count)
        return {**result, "server_cpu_us_per_message": (cpu_seconds(proc.pid) - cpu) / count * 1e6}
    finally:
        proc.stop()


def push(ctx: Context, env: dict[str, str], count: int, *options: str) -> dict:
    """Run the pusher in the project with these settings; its figures."""
    argv = [*script("pusher.py"), "--count", str(count), "--workers", str(ctx.connections), *options]
    return run_json([*argv, "--log", str(ctx.work / "pusher.log")], ctx.project.root, env)
