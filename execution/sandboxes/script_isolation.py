"""Isolating the local sandbox's python and shell scripts from the worker (bubblewrap)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from execution.sandboxes.base import OUTPUT_LIMIT, CommandResult

# The uid scripts run as when the worker is root (`nobody`): never the worker's own.
SCRIPT_UID = 65534
# Where the script's private directory appears inside its sandbox (its HOME and cwd).
SANDBOX_HOME = "/sandbox"
_LAUNCHER = Path(__file__).with_name("script_launcher.py")
# The system read-only: programs and libraries, plus what name resolution and TLS read.
_SYSTEM = ("/usr", "/etc/alternatives")
_ETC = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
)
_PATH = "/usr/local/bin:/usr/bin:/bin"
HOW_TO_ISOLATE = (
    "Install bubblewrap (`make dev` does it as root; else `apt-get install bubblewrap`), "
    "and allow unprivileged user namespaces (in Docker: a seccomp profile that allows "
    "them); or accept the risk with TESTRUN_SCRIPT_ISOLATION=none, which runs scripts on "
    "the worker host as the worker's user."
)


@dataclass(frozen=True, slots=True)
class ScriptIsolation:
    """How the local sandbox runs python and shell scripts, and their limits."""

    mode: Literal["bubblewrap", "none"] = "bubblewrap"
    # TCP ports no script may connect to, on any host: the service's PostgreSQL and Redis.
    denied_ports: frozenset[int] = field(default_factory=frozenset)
    memory_mb: int = 512
    max_processes: int = 64
    max_file_mb: int = 64


def bubblewrap_argv(isolation: ScriptIsolation, workdir: Path, command: str) -> list[str]:
    """The command line that runs `command` with /bin/sh in a sandbox around `workdir`.

    New user, PID, IPC, UTS and cgroup namespaces; the host's network, minus the denied
    ports (Landlock); only the system's programs, read-only; `workdir` as its home; a
    fresh /proc, /dev and /tmp. Its last process dies with it.
    """
    python = shutil.which("python3", path=_PATH) or "/usr/bin/python3"
    argv = ["setpriv", f"--reuid={SCRIPT_UID}", f"--regid={SCRIPT_UID}", "--clear-groups"]
    if os.geteuid() != 0:
        argv = []
    argv += ["bwrap", "--unshare-all", "--share-net", "--die-with-parent", "--new-session"]
    argv += ["--unshare-user", "--disable-userns"]
    for path in _SYSTEM:
        argv += ["--ro-bind-try", path, path]
    for link, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")):
        argv += ["--symlink", target, link]
    argv += ["--symlink", "usr/sbin", "/sbin"]
    for path in _ETC:
        argv += ["--ro-bind-try", path, path]
    # Only the home, /tmp and /dev/shm are writable; the last two are memory, so bounded.
    scratch = str(isolation.max_file_mb * 1024 * 1024)
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", scratch, "--tmpfs", "/dev/shm"]
    argv += ["--remount-ro", "/dev", "--size", scratch, "--tmpfs", "/tmp"]
    argv += ["--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME, "--remount-ro", "/"]
    limits = ":".join(
        [
            str(isolation.memory_mb * 1024 * 1024),
            str(isolation.max_processes),
            str(isolation.max_file_mb * 1024 * 1024),
            ",".join(str(port) for port in sorted(isolation.denied_ports)),
        ]
    )
    # The launcher goes as an argument, not a file the script could rewrite for the next one.
    argv += [python, "-I", "-c", _launcher_source(), limits, "--", "/bin/sh", "-c", command]
    return argv


@functools.cache
def _launcher_source() -> str:
    return _LAUNCHER.read_text()


def script_environment(env: dict[str, str] | None, home: str = SANDBOX_HOME) -> dict[str, str]:
    """All a script sees of environment variables: `env` and a neutral PATH, HOME and locale."""
    return {"PATH": _PATH, "HOME": home, "LANG": "C.UTF-8", **(env or {})}


def write_into(workdir: Path, name: str, text: str) -> None:
    """Write `text` to `workdir/name` without following links an earlier script left there.

    The worker writes each script's file into a directory the scripts before wrote into;
    a link named like the file (or a folder on its way) would have the worker overwrite
    whatever the link points to on the host.
    """
    path = workdir
    for part in Path(name).parts[:-1]:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        path.mkdir(exist_ok=True)
    path = path / Path(name).name
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def prepare_workdir(workdir: Path) -> None:
    """Let the sandbox's uid own the script directory (the worker, as root, made it)."""
    if os.geteuid() == 0:
        os.chown(workdir, SCRIPT_UID, SCRIPT_UID)
        for path in workdir.rglob("*"):
            os.chown(path, SCRIPT_UID, SCRIPT_UID, follow_symlinks=False)


async def run_process(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float
) -> CommandResult:
    """Run `argv`; at `timeout_s` its whole process group is killed and that is the result."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # so a timeout kills the whole process group
    )
    assert process.stdout is not None and process.stderr is not None
    # Shielded: a timeout kills the process but keeps what it printed until then.
    ended = asyncio.gather(_tail(process.stdout), _tail(process.stderr), process.wait())
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(ended), timeout_s)
    except TimeoutError:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
    stdout, stderr, _ = await ended
    return CommandResult(
        exit_code=None if timed_out else process.returncode,
        stdout=stdout.decode(errors="replace")[-OUTPUT_LIMIT:],
        stderr=stderr.decode(errors="replace")[-OUTPUT_LIMIT:],
        duration_ms=round((time.monotonic() - started) * 1000),
        timed_out=timed_out,
    )


async def _tail(stream: asyncio.StreamReader) -> bytes:
    """All of `stream` is read, only its end is kept: a script printing forever costs no memory."""
    keep = 4 * OUTPUT_LIMIT  # bytes enough for OUTPUT_LIMIT characters of UTF-8
    kept = bytearray()
    while chunk := await stream.read(65_536):
        kept += chunk
        if len(kept) > 2 * keep:
            del kept[:-keep]
    return bytes(kept[-keep:])


class IsolationCheck:
    """Whether scripts can be isolated on this host: tried once, by running an empty script."""

    def __init__(self, isolation: ScriptIsolation) -> None:
        """Check `isolation` on first use (`problem()`)."""
        self.isolation = isolation
        self._problem: str | None = None
        self._checked = False
        self._lock = asyncio.Lock()

    async def problem(self) -> str | None:
        """Why scripts cannot be isolated here (with how to fix it), or None when they can."""
        async with self._lock:
            if not self._checked:
                self._problem = await self._try()
                self._checked = True
            return self._problem

    async def _try(self) -> str | None:
        if shutil.which("bwrap") is None:
            return (
                f"Scripts cannot be isolated: bubblewrap (bwrap) is not installed. {HOW_TO_ISOLATE}"
            )
        probe = Path(tempfile.mkdtemp(prefix="testrun-isolation-check-"))
        try:
            prepare_workdir(probe)
            result = await run_process(
                bubblewrap_argv(self.isolation, probe, "true"),
                cwd=probe,
                env=script_environment(None),
                timeout_s=30,
            )
        finally:
            shutil.rmtree(probe, ignore_errors=True)
        if result.exit_code == 0:
            return None
        reason = (result.stderr.strip().splitlines() or [f"exit code {result.exit_code}"])[-1]
        return f"Scripts cannot be isolated: {reason}. {HOW_TO_ISOLATE}"
