"""Scripts attack the worker through real runs: what their stored results show, what is left."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dramatiq.brokers.stub import StubBroker

from execution.engine import Engine
from execution.sandboxes.base import OUTPUT_LIMIT
from execution.sandboxes.chromium import find_chromium
from execution.sandboxes.script_isolation import ScriptIsolation
from models.results import ScriptResult, TestRunResult
from models.runs import TestRunItem
from server.sandboxes import script_isolation
from server.settings import Settings
from tests.execution.engine_harness import Team, login_steps, rows, start_engine, stop_engine

CHECKOUT = Path(__file__).resolve().parents[2]
CANARY = f"canary-{uuid.uuid4().hex}"


@pytest.fixture
def secret_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's secrets, as a real worker has them in its environment."""
    for name in ("TESTRUN_SECRET_KEY", "E2B_API_KEY", "TESTRUN_SMTP_PASSWORD"):
        monkeypatch.setenv(name, CANARY)


@pytest.fixture
def isolated_engine(
    migrated_database_url: str,
    redis_url: str,
    stub_broker: StubBroker,
    artifacts: Path,
    secret_environment: None,
) -> Iterator[Engine]:
    """An engine whose worker has DATABASE_URL and REDIS_URL set, as in production."""
    settings = Settings(database_url=migrated_database_url, redis_url=redis_url)
    found, worker = start_engine(
        migrated_database_url, stub_broker, artifacts, isolation=script_isolation(settings)
    )
    yield found
    stop_engine(found, worker)


def connect_script(url: str) -> str:
    parts = urlsplit(url)
    return (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(({parts.hostname!r}, {parts.port}), timeout=5).close()\n"
        "    print('connected')\n"
        "except OSError as error:\n"
        "    print('refused', type(error).__name__)\n"
    )


def leftover_processes(marker: str) -> list[int]:
    """Processes on the host whose command line is `sleep <marker>`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or it ended meanwhile
            continue
        if command.split(b"\0")[:2] == [b"sleep", marker.encode()]:
            found.append(int(entry.name))
    return found


async def run_scripts(
    team: Team, site: str, stub_broker: StubBroker, scripts: dict[str, tuple[str, str, int]]
) -> dict[str, ScriptResult]:
    """Run `scripts` (name -> language, code, timeout) as post-scripts of a passing test case."""
    ids = [
        (
            await team.script(
                name=name,
                script_type="post_execution",
                language=language,
                code=code,
                is_critical=False,
                timeout_seconds=timeout,
            )
        ).id
        for name, (language, code, timeout) in scripts.items()
    ]
    run_id = await team.run_of([{"proven_steps": login_steps(site), "post_script_ids": ids}])
    await team.start(run_id, stub_broker)
    await team.wait_final(run_id, timeout_s=120)
    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
    found = await rows(team, ScriptResult, test_run_result_id=result.id)
    return {script.script_name: script for script in found}


@pytest.mark.timeout(180)
async def test_a_script_sees_none_of_the_worker(
    isolated_engine: Engine,
    team: Team,
    site: str,
    stub_broker: StubBroker,
    artifacts: Path,
    migrated_database_url: str,
    redis_url: str,
) -> None:
    artifacts.mkdir(parents=True, exist_ok=True)
    other_run = artifacts / "other-run.txt"
    other_run.write_text(CANARY)
    results = await run_scripts(
        team,
        site,
        stub_broker,
        {
            "env": ("shell", "env", 20),
            "artifacts": ("shell", f"cat {other_run}", 20),
            "checkout": ("shell", f"ls {CHECKOUT}; cat {CHECKOUT / 'pyproject.toml'}", 20),
            "worker proc": ("shell", f"cat /proc/{os.getpid()}/environ", 20),
            "postgres": ("python", connect_script(migrated_database_url), 20),
            "redis": ("python", connect_script(redis_url), 20),
            "site": ("python", connect_script(site), 20),
        },
    )

    everything = "".join(r.stdout + r.stderr for r in results.values())
    assert CANARY not in everything
    assert "DATABASE_URL" not in everything and "REDIS_URL" not in everything
    variables = dict(line.split("=", 1) for line in results["env"].stdout.splitlines())
    assert set(variables) == {
        "PATH",
        "HOME",
        "LANG",
        "PWD",
        "TESTRUN_RUN_ID",
        "TESTRUN_ITEM_ID",
    }
    assert variables["HOME"] == "/sandbox"
    assert "No such file or directory" in results["artifacts"].stderr
    assert "No such file or directory" in results["checkout"].stderr
    assert "[project]" not in results["checkout"].stdout
    assert "No such file or directory" in results["worker proc"].stderr
    assert [r.status for r in (results["artifacts"], results["checkout"])] == ["failed"] * 2
    assert results["postgres"].stdout == "refused PermissionError\n"
    assert results["redis"].stdout == "refused PermissionError\n"
    # The network stays usable: the system under test on the host's loopback is reachable.
    assert results["site"].stdout == "connected\n"


@pytest.mark.timeout(180)
async def test_a_script_is_held_to_its_limits_and_leaves_no_process(
    isolated_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    results = await run_scripts(
        team,
        site,
        stub_broker,
        {
            "background": ("shell", "sleep 1031 & echo started", 20),
            "forever": ("shell", "echo waiting; sleep 1032", 3),
            "fork bomb": ("shell", "for i in $(seq 200); do sleep 1033 & done; echo done", 20),
            "memory": ("python", "data = bytearray(1024 * 1024 * 1024)\nprint('allocated')", 20),
            "big file": ("shell", "head -c 100000000 /dev/zero > big; ls -l big", 20),
            "fill memory": (
                "shell",
                "for n in 1 2; do head -c 60000000 /dev/zero > /tmp/$n; done; touch /outside",
                20,
            ),
            # 10**8 bytes of "flood\n" end in "floo" (10**8 % 6 == 4)
            "flood": ("shell", "yes flood | head -c 100000000; echo; echo end", 60),
        },
    )

    assert (results["background"].status, results["background"].stdout) == ("passed", "started\n")
    forever = results["forever"]
    assert (forever.status, forever.exit_code, forever.stdout) == ("failed", None, "waiting\n")
    assert forever.error_message == "Timed out after 3 s"
    assert "Cannot fork" in results["fork bomb"].stderr
    memory = results["memory"]
    assert (memory.status, memory.stdout) == ("failed", "")
    assert "MemoryError" in memory.stderr
    big = results["big file"]
    assert "File too large" in big.stderr
    assert f" {64 * 1024 * 1024} " in big.stdout  # cut at the 64 MiB limit
    fill = results["fill memory"].stderr
    assert "No space left on device" in fill and "Read-only file system" in fill
    flood = results["flood"]
    assert flood.status == "passed"
    assert len(flood.stdout) == OUTPUT_LIMIT and flood.stdout.endswith("flood\nfloo\nend\n")
    for marker in ("1031", "1032", "1033"):
        assert leftover_processes(marker) == [], marker


@pytest.fixture
def engine_without_bwrap(
    migrated_database_url: str,
    stub_broker: StubBroker,
    artifacts: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Engine]:
    """A worker on a host where bubblewrap is not installed (not on its PATH)."""
    chromium = find_chromium(None)  # found before PATH loses it
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "python3"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    found, worker = start_engine(migrated_database_url, stub_broker, artifacts, chromium=chromium)
    yield found
    stop_engine(found, worker)


async def test_without_isolation_a_script_fails_saying_how_to_enable_it(
    engine_without_bwrap: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    seed = await team.script(
        name="Seed",
        script_type="pre_execution",
        language="shell",
        code="echo seeded > /tmp/seeded",
        is_critical=True,
        timeout_seconds=10,
    )
    run_id = await team.run_of([{"proven_steps": login_steps(site), "pre_script_ids": [seed.id]}])
    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
    (script,) = await rows(team, ScriptResult, test_run_result_id=result.id)
    assert (item.status, script.status, script.exit_code) == ("failed", "failed", None)
    assert script.error_message is not None
    assert script.error_message.startswith(
        "Scripts cannot be isolated: bubblewrap (bwrap) is not installed."
    )
    assert "apt-get install bubblewrap" in script.error_message
    assert "TESTRUN_SCRIPT_ISOLATION=none" in script.error_message
    assert result.error_message == f"Critical pre-script 'Seed' failed: {script.error_message}"


async def test_an_operator_may_run_scripts_unisolated(
    migrated_database_url: str,
    stub_broker: StubBroker,
    artifacts: Path,
    team: Team,
    site: str,
    secret_environment: None,
) -> None:
    engine, worker = start_engine(
        migrated_database_url, stub_broker, artifacts, isolation=ScriptIsolation(mode="none")
    )
    try:
        results = await run_scripts(
            team, site, stub_broker, {"where": ("shell", f"ls {CHECKOUT}; env", 20)}
        )
    finally:
        stop_engine(engine, worker)

    where = results["where"]
    assert where.status == "passed"
    assert "pyproject.toml" in where.stdout  # the risk taken: the worker's files are in reach
    assert CANARY not in where.stdout  # its environment is still not passed on


async def test_a_link_left_for_the_next_script_writes_nothing_on_the_host(
    isolated_engine: Engine, team: Team, site: str, stub_broker: StubBroker, tmp_path: Path
) -> None:
    victim = tmp_path / "worker-file.txt"
    victim.write_text(CANARY)
    trap = await team.script(
        name="Trap",
        script_type="pre_execution",
        language="shell",
        code=f"ln -sf {victim} script.sh; ln -sf {victim} script.py; ls -l",
    )
    after = await team.script(
        name="After", script_type="post_execution", language="shell", code="echo written"
    )
    run_id = await team.run_of(
        [
            {
                "proven_steps": login_steps(site),
                "pre_script_ids": [trap.id],
                "post_script_ids": [after.id],
            }
        ]
    )

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    scripts = {s.script_name: s for s in await rows(team, ScriptResult)}
    assert f"script.py -> {victim}" in scripts["Trap"].stdout  # the trap was laid
    assert (scripts["After"].status, scripts["After"].stdout) == ("passed", "written\n")
    assert victim.read_text() == CANARY
