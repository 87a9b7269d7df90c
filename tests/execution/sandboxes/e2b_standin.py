"""A local stand-in for E2B: its control plane, its edge proxy and its sandboxes' processes.

E2B's cloud cannot be reached from here, so this plays the two surfaces our code talks to,
with the SDK's own names, signatures, data types and exceptions:

- the control plane, `AsyncSandbox.create/list/kill` (API key, metadata, `SandboxQuery`,
  pages of `SandboxInfo`);
- one sandbox: `commands.run` (bash, background handles, `CommandExitException`,
  `TimeoutException` at the timeout), `files.write`, `get_host` and `kill`.

What is real: every command is a real local process in the sandbox's own temporary home;
`google-chrome` is this machine's Chromium, which the code under test starts with remote
debugging and connects to over CDP; `get_host(port)` is a real TCP proxy that, like E2B's
edge, passes the port's traffic through under a public name and rewrites the Host header
by the sandbox's `mask_request_host`. Its public name is this machine's host name (not an IP,
not localhost), so Chromium's Host check really applies. `kill()` SIGKILLs every process the
sandbox started, their children included.

What is not: there is no X server here, so `google-chrome` runs headless, and Xvfb, x11vnc
and novnc_proxy are stand-ins that only stay alive (xdpyinfo answers at once). Commands run
under `bash -c`, not E2B's `bash -l -c` (a login shell would reset PATH and lose the shims).
Absolute paths are this machine's paths, not a VM's. All sandboxes share this machine's
ports, so only one may run Chrome (port 9222) at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Unpack

import psutil
from e2b import (
    ApiParams,
    AuthenticationException,
    CommandExitException,
    CommandResult,
    ConnectionConfig,
    FileType,
    NotFoundException,
    SandboxException,
    SandboxInfo,
    SandboxNetworkOpts,
    SandboxQuery,
    SandboxState,
    TimeoutException,
    WriteInfo,
)

API_KEY = "e2b_standin_0123456789abcdef"
TEMPLATE = "desktop"
# Every process a stand-in sandbox starts carries this variable, set to the sandbox's id.
SANDBOX_MARK = "E2B_STANDIN_SANDBOX"

ChromeMode = Literal["chromium", "crash", "silent"]

_STAY_ALIVE = "#!/bin/sh\nexec sleep infinity\n"
_CHROME = {
    # The template's Google Chrome, played by this machine's Chromium: headless, as there is
    # no X server here, with its profile in the sandbox's own /tmp.
    "chromium": """#!/bin/bash
printf '%s\\n' "$@" > "$E2B_STANDIN_ROOT/google-chrome.args"
printf '%s' "$DISPLAY" > "$E2B_STANDIN_ROOT/google-chrome.display"
args=()
for arg in "$@"; do
  case "$arg" in
    --user-data-dir=/tmp/*) arg="--user-data-dir=$E2B_STANDIN_ROOT${arg#--user-data-dir=}" ;;
  esac
  args+=("$arg")
done
exec @CHROMIUM@ --headless=new "${args[@]}"
""",
    "crash": """#!/bin/sh
echo "[ERROR:ozone_platform_x11.cc(256)] Missing X server or \\$DISPLAY" >&2
exit 1
""",
    "silent": _STAY_ALIVE,
}


def edge_name() -> tuple[str, str]:
    """This machine's host name and its address, or 127.0.0.1 twice when it does not resolve."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        return "127.0.0.1", "127.0.0.1"
    if name == "localhost":
        return "127.0.0.1", "127.0.0.1"
    return name, address


def sandbox_processes(
    sandbox_id: str | None = None, *, running: tuple[str, ...] = ()
) -> list[psutil.Process]:
    """Live (not zombie) processes of one stand-in sandbox, or of all when `sandbox_id` is None.

    With `running`, only those whose command line starts with these words. A process that
    ends while it is looked at is left out, never an error.
    """
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            mark = process.environ().get(SANDBOX_MARK)
            if running and tuple(process.cmdline()[: len(running)]) != running:
                continue
        except psutil.Error:
            continue
        if mark is not None and (sandbox_id is None or mark == sandbox_id):
            found.append(process)
    return found


@dataclass
class CreateCall:
    """What `create` was asked for."""

    template: str | None
    timeout: int | None
    metadata: dict[str, str]
    network: SandboxNetworkOpts | None
    opts: dict[str, Any]


@dataclass
class StandInE2B:
    """E2B's control plane: `AsyncSandbox.create`, `.list` and `.kill`, sandboxes in `root`."""

    root: Path
    chromium: Path
    api_key: str = API_KEY
    chrome: ChromeMode = "chromium"
    page_size: int = 2
    # The next this many kills fail, as when E2B's API is down.
    failing_kills: int = 0
    sandboxes: dict[str, StandInSandbox] = field(default_factory=dict)
    created: list[CreateCall] = field(default_factory=list)

    async def create(
        self,
        template: str | None = None,
        timeout: int | None = None,
        metadata: dict[str, str] | None = None,
        envs: dict[str, str] | None = None,
        *,
        network: SandboxNetworkOpts | None = None,
        **opts: Unpack[ApiParams],
    ) -> StandInSandbox:
        """A new running sandbox (`AsyncSandbox.create`)."""
        self._authenticate(opts)
        self.created.append(
            CreateCall(template, timeout, dict(metadata or {}), network, dict(opts))
        )
        if (template or TEMPLATE) != TEMPLATE:
            raise NotFoundException(f"template '{template}' not found")
        sandbox_id = "i" + uuid.uuid4().hex[:19]
        sandbox = StandInSandbox(
            self,
            sandbox_id,
            self.root / sandbox_id,
            metadata=dict(metadata or {}),
            envs=dict(envs or {}),
            host_mask=(network or {}).get("mask_request_host"),
            started_at=datetime.now(UTC),
            lifetime=timedelta(seconds=timeout or 300),
        )
        self.sandboxes[sandbox_id] = sandbox
        return sandbox

    def list(
        self,
        query: SandboxQuery | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        order: str | None = None,
        **opts: Unpack[ApiParams],
    ) -> StandInPages:
        """Sandboxes whose metadata has all of `query.metadata` (`AsyncSandbox.list`)."""
        self._authenticate(opts)
        wanted = (query.metadata if query else None) or {}
        listed = [
            sandbox.info
            for sandbox in self.sandboxes.values()
            if all(sandbox.metadata.get(key) == value for key, value in wanted.items())
        ]
        return StandInPages(listed, limit or self.page_size)

    async def kill(self, sandbox_id: str, **opts: Unpack[ApiParams]) -> bool:
        """Destroy a sandbox; False when there is none (`AsyncSandbox.kill(sandbox_id)`)."""
        self._authenticate(opts)
        if self.failing_kills > 0:
            self.failing_kills -= 1
            raise SandboxException("503: the stand-in's API is down")
        sandbox = self.sandboxes.pop(sandbox_id, None)
        if sandbox is None:
            return False
        await sandbox.destroy()
        return True

    async def kill_all(self) -> None:
        """Destroy every sandbox still running (test teardown)."""
        self.failing_kills = 0
        for sandbox_id in list(self.sandboxes):
            await self.kill(sandbox_id, api_key=self.api_key)

    def _authenticate(self, opts: ApiParams) -> None:
        if opts.get("api_key") != self.api_key:
            raise AuthenticationException("Invalid API key, it must start with 'e2b_'")


@dataclass
class StandInPages:
    """`AsyncSandboxPaginator`: pages of `SandboxInfo`."""

    _items: list[SandboxInfo]
    _size: int

    @property
    def has_next(self) -> bool:
        """Whether next_items() has more."""
        return bool(self._items)

    async def next_items(self, **opts: Unpack[ApiParams]) -> list[SandboxInfo]:
        """The next page."""
        if not self._items:
            raise Exception("No more items to fetch")  # the SDK's own
        page, self._items = self._items[: self._size], self._items[self._size :]
        return page


class StandInSandbox:
    """One sandbox (`AsyncSandbox`): real processes in its own home, reached through an edge."""

    def __init__(
        self,
        cloud: StandInE2B,
        sandbox_id: str,
        root: Path,
        *,
        metadata: dict[str, str],
        envs: dict[str, str],
        host_mask: str | None,
        started_at: datetime,
        lifetime: timedelta,
    ) -> None:
        self.cloud = cloud
        self.root = root
        self.home = root / "home"
        self.metadata = metadata
        self.host_mask = host_mask
        self.killed = False
        # The SDK's debug mode: this sandbox is local and its ports speak plain HTTP.
        self.connection_config = ConnectionConfig(debug=True, api_key=cloud.api_key)
        self.commands = StandInCommands(self)
        self.files = StandInFiles(self)
        self.info = SandboxInfo(
            sandbox_id=sandbox_id,
            sandbox_domain=None,
            template_id=TEMPLATE,
            name=TEMPLATE,
            metadata=metadata,
            started_at=started_at,
            end_at=started_at + lifetime,
            state=SandboxState.RUNNING,
            cpu_count=2,
            memory_mb=2048,
            envd_version="0.2.4",
        )
        self._edges: dict[int, _Edge] = {}
        self._processes: list[asyncio.subprocess.Process] = []
        self._handles: list[StandInCommandHandle] = []
        bin_dir = root / "bin"
        for directory in (self.home, bin_dir, root / "tmp"):
            directory.mkdir(parents=True)
        shims = {
            "google-chrome": _CHROME[cloud.chrome].replace(
                "@CHROMIUM@", shlex.quote(str(cloud.chromium))
            ),
            "Xvfb": _STAY_ALIVE,
            "x11vnc": _STAY_ALIVE,
            "novnc_proxy": _STAY_ALIVE,
            "xdpyinfo": '#!/bin/sh\necho "name of display:    $2"\n',
        }
        for name, script in shims.items():
            (bin_dir / name).write_text(script)
            (bin_dir / name).chmod(0o755)
        self.env = {
            **{key: value for key, value in os.environ.items() if key != "DISPLAY"},
            **envs,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "HOME": str(self.home),
            "E2B_STANDIN_ROOT": str(root),
            SANDBOX_MARK: sandbox_id,
        }

    @property
    def sandbox_id(self) -> str:
        """E2B's id for it."""
        return self.info.sandbox_id

    @property
    def command_lines(self) -> Iterator[str]:
        """Every command started so far, in order."""
        return (handle.command for handle in self._handles)

    def get_host(self, port: int) -> str:
        """`name:port` of the edge that reaches `port` inside the sandbox."""
        if port not in self._edges:
            self._edges[port] = _Edge(port, self.host_mask)
        return self._edges[port].host

    async def kill(self) -> bool:
        """Destroy this sandbox (`sandbox.kill()`)."""
        return await self.cloud.kill(self.sandbox_id, api_key=self.cloud.api_key)

    async def spawn(
        self, cmd: str, *, envs: dict[str, str] | None, cwd: str | None, timeout: float | None
    ) -> StandInCommandHandle:
        """Start `bash -c cmd` as a process of this sandbox."""
        if self.killed:
            raise SandboxException(f"sandbox {self.sandbox_id} was killed")
        process = await asyncio.create_subprocess_exec(
            "/bin/bash",
            "-c",
            cmd,
            cwd=cwd or self.home,
            env={**self.env, **(envs or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self._processes.append(process)
        handle = StandInCommandHandle(cmd, process, timeout=timeout)
        self._handles.append(handle)
        return handle

    async def destroy(self) -> None:
        """What E2B's kill does to the VM: every process dies, its ports close, its disk goes."""
        self.killed = True
        for process in self._processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        # Chromium's helpers may leave the process group; the mark finds them all.
        for _ in range(50):
            leftovers = sandbox_processes(self.sandbox_id)
            if not leftovers:
                break
            for leftover in leftovers:
                with contextlib.suppress(psutil.Error):
                    leftover.kill()
            await asyncio.sleep(0.1)
        for process in self._processes:
            await process.wait()
        for handle in self._handles:
            await handle.disconnect()
        for edge in self._edges.values():
            await edge.close()
        shutil.rmtree(self.root, ignore_errors=True)


class StandInCommands:
    """`sandbox.commands`."""

    def __init__(self, sandbox: StandInSandbox) -> None:
        self._sandbox = sandbox

    async def run(
        self,
        cmd: str,
        background: bool | None = None,
        envs: dict[str, str] | None = None,
        user: str | None = None,
        cwd: str | None = None,
        on_stdout: Any = None,
        on_stderr: Any = None,
        stdin: bool | None = None,
        timeout: float | None = 60,
        request_timeout: float | None = None,
        *,
        retain_output: bool = True,
    ) -> Any:
        """A handle when `background`, else the result (`Commands.run`)."""
        handle = await self._sandbox.spawn(cmd, envs=envs, cwd=cwd, timeout=timeout)
        return handle if background else await handle.wait()


class StandInCommandHandle:
    """`AsyncCommandHandle`: a running command's output so far, its result, kill."""

    def __init__(
        self, command: str, process: asyncio.subprocess.Process, *, timeout: float | None
    ) -> None:
        self.command = command
        self._process = process
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        loop = asyncio.get_running_loop()
        # E2B ends the command's stream at its timeout (0: never).
        self._deadline = loop.time() + timeout if timeout else None
        self._ended = asyncio.create_task(self._follow())

    @property
    def pid(self) -> int:
        """The command's process id."""
        return self._process.pid

    @property
    def exit_code(self) -> int | None:
        """None until the stream ends: E2B sends the exit after all of the output."""
        if not self._ended.done() or self._ended.cancelled():
            return None
        return self._ended.result()

    @property
    def stdout(self) -> str:
        """Output so far."""
        return "".join(self._stdout)

    @property
    def stderr(self) -> str:
        """Error output so far."""
        return "".join(self._stderr)

    async def wait(self) -> CommandResult[str]:
        """The result; CommandExitException on a non-zero exit, TimeoutException at timeout."""
        remaining = None
        if self._deadline is not None:
            remaining = max(0.0, self._deadline - asyncio.get_running_loop().time())
        try:
            exit_code = await asyncio.wait_for(asyncio.shield(self._ended), remaining)
        except TimeoutError:
            # Like E2B's, the stream ends but the command is left running.
            raise TimeoutException(
                "context deadline exceeded: This error is likely due to exceeding 'timeout'"
            ) from None
        if exit_code != 0:
            raise CommandExitException(
                stdout=self.stdout, stderr=self.stderr, exit_code=exit_code, error=None
            )
        return CommandResult(stdout=self.stdout, stderr=self.stderr, exit_code=0, error=None)

    async def kill(self) -> bool:
        """SIGKILL the command's process (not its children, as E2B)."""
        if self._process.returncode is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        return True

    async def disconnect(self) -> None:
        """Stop following the command; it keeps running."""
        self._ended.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ended

    async def _follow(self) -> int:
        assert self._process.stdout is not None and self._process.stderr is not None
        await asyncio.gather(
            _collect(self._process.stdout, self._stdout),
            _collect(self._process.stderr, self._stderr),
        )
        return await self._process.wait()


class StandInFiles:
    """`sandbox.files`: relative paths are in the sandbox's home."""

    def __init__(self, sandbox: StandInSandbox) -> None:
        self._sandbox = sandbox

    async def write(self, path: str, data: str, user: str | None = None, **_: Any) -> WriteInfo:
        """Create or overwrite the file, making its directories (`Filesystem.write`)."""
        target = self._sandbox.home / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data)
        return WriteInfo(name=target.name, type=FileType.FILE, path=str(target))


class _Edge:
    """E2B's proxy for one port of one sandbox: plain TCP under a public name, Host masked."""

    def __init__(self, port: int, host_mask: str | None) -> None:
        name, address = edge_name()
        self._target = port
        self._mask = host_mask.replace("${PORT}", str(port)) if host_mask else None
        # Bound now: get_host() is synchronous, and connections wait in the backlog until
        # the server below accepts them.
        self._socket = socket.create_server((address, 0))
        self.host = f"{name}:{self._socket.getsockname()[1]}"
        self._relays: set[asyncio.Task[None]] = set()
        self._server = asyncio.get_running_loop().create_task(
            asyncio.start_server(self._relay, sock=self._socket)
        )

    async def close(self) -> None:
        server = await self._server
        server.close()
        for relay in list(self._relays):
            relay.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        await server.wait_closed()

    async def _relay(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        self._relays.add(relay)
        to_sandbox: asyncio.StreamWriter | None = None
        try:
            try:
                head = await client.readuntil(b"\r\n\r\n")
                sandbox, to_sandbox = await asyncio.open_connection("127.0.0.1", self._target)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            except OSError:
                # What E2B answers while nothing listens on the port yet.
                body = b"The sandbox is running but port is not open"
                to_client.write(
                    b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await to_client.drain()
                return
            to_sandbox.write(self._rewrite(head))
            pipes = {
                asyncio.create_task(_pipe(client, to_sandbox)),
                asyncio.create_task(_pipe(sandbox, to_client)),
            }
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            for writer in (to_sandbox, to_client):
                if writer is not None:
                    writer.close()
            self._relays.discard(relay)

    def _rewrite(self, head: bytes) -> bytes:
        request, *headers = [line for line in head.decode("latin-1").split("\r\n") if line]
        upgrade = any(line.lower().startswith("upgrade:") for line in headers)
        lines = [request]
        for line in headers:
            name = line.split(":", 1)[0].strip().lower()
            if name == "host" and self._mask is not None:
                line = f"Host: {self._mask}"
            elif name == "connection" and not upgrade:
                continue
            lines.append(line)
        if not upgrade:
            # One request per connection: only a connection's first request head is rewritten.
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while chunk := await stream.read(65536):
        into.append(chunk.decode(errors="replace"))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
