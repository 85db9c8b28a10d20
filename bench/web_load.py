"""Concurrent load on loopback from a process of its own: wrk when installed, else asyncio+httpx.

Each run keeps `connections` requests in flight for `seconds`, cycling through the paths, and
reports requests per second and the median, 95th and 99th percentile latency in ms, plus the
number of answers that were not 200 (a redirect to the sign-in page would be one).

    python bench/web_load.py --base http://127.0.0.1:8000 --cookie 'a=b' PATH [PATH...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

WRK_SCRIPT = """
local paths = {%(paths)s}
counter = 0
bad = 0
local threads = {}
wrk.headers["Cookie"] = %(cookie)s
function setup(thread) table.insert(threads, thread) end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local not_ok = 0
  for _, thread in ipairs(threads) do not_ok = not_ok + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "p50": %%f, "p95": %%f, "p99": %%f, '
    .. '"errors": %%d, "not_200": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.timeout, not_ok))
end
"""

INSTALL_WRK = "apt-get install wrk"


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def load(
    base: str, paths: list[str], cookie: str, *, connections: int, seconds: float
) -> dict[str, Any]:
    """One measurement in a separate process; figures as a dict (ms, requests/s)."""
    if has_wrk():
        figures = _wrk(base, paths, cookie, connections, seconds)
        figures["tool"] = "wrk"
    else:
        command = [sys.executable, __file__, "--base", base, "--cookie", cookie]
        command += ["--connections", str(connections), "--seconds", str(seconds), *paths]
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
        figures = dict(json.loads(output.strip().splitlines()[-1]))
        figures["tool"] = "httpx"
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def _wrk(
    base: str, paths: list[str], cookie: str, connections: int, seconds: float
) -> dict[str, Any]:
    script = WRK_SCRIPT % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "cookie": json.dumps(cookie),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        Path(handle.name).unlink()
    return dict(json.loads(output.strip().splitlines()[-1]))


async def _client_loop(
    client: httpx.AsyncClient, paths: list[str], start: int, deadline: float, found: dict[str, Any]
) -> None:
    n = start
    while time.perf_counter() < deadline:
        path = paths[n % len(paths)]
        n += 1
        began = time.perf_counter()
        try:
            response = await client.get(path)
        except httpx.HTTPError:  # a failed request is counted, not fatal
            found["errors"] += 1
            continue
        found["latencies"].append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            found["not_200"] += 1


async def _httpx_run(
    base: str, paths: list[str], cookie: str, connections: int, seconds: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    found: dict[str, Any] = {"latencies": [], "errors": 0, "not_200": 0}
    async with httpx.AsyncClient(
        base_url=base, headers={"cookie": cookie}, limits=limits, timeout=10
    ) as client:
        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(
            *(_client_loop(client, paths, n, deadline, found) for n in range(connections))
        )
        elapsed = time.perf_counter() - began
    latencies = sorted(found["latencies"]) or [0.0]
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(found["latencies"]),
        "seconds": elapsed,
        "p50": statistics.median(latencies),
        "p95": cuts[94],
        "p99": cuts[98],
        "errors": found["errors"],
        "not_200": found["not_200"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--cookie", default="")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    figures = asyncio.run(
        _httpx_run(args.base, args.paths, args.cookie, args.connections, args.seconds)
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
