"""Running the `syncer` command in a subprocess from an async test, whose event loop keeps
serving the in-process simulator meanwhile."""

from __future__ import annotations

import asyncio
import sys


async def syncer(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`syncer ARGS` with exactly `env`: its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "syncer", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
