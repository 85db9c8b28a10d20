"""CPU time spent by processes, read from /proc (Linux).

The web benchmark's cost per request: on a machine shared with other work, latency under
load moves with the neighbours (the same code's p95 has doubled from one run to the next),
while the CPU seconds each request takes in our processes and in PostgreSQL's move far less.
"""

from __future__ import annotations

import os


def cpu_seconds(*, group: int | None = None, name: str | None = None) -> float:
    """User + system CPU of the processes in process group `group`, or named `name`."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:  # gone since the listing
            continue
        command = raw[raw.index(b"(") + 1 : raw.rindex(b")")].decode(errors="replace")
        fields = raw[raw.rindex(b")") + 2 :].split()  # from field 3 (state) on
        if group is not None and int(fields[2]) != group:
            continue
        if name is not None and command != name:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
