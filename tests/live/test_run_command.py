"""`testrun run` and `testrun runs` as a CI job runs them: a real api, a real worker, Chromium."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema

from models.database import transaction
from models.enums import Role
from tests.execution.engine_harness import login_steps, step
from tests.factories import make_test_case
from tests.live.harness import Api, Writer
from tests.processes import cli_env, run_cli, started

pytestmark = pytest.mark.slow

JUNIT_XSD = Path(__file__).parents[1] / "rest" / "junit.xsd"
ANSI_ESCAPE = "\x1b"


async def named_case(writer: Writer, name: str, steps: list) -> uuid.UUID:
    async with transaction(writer.team.sessions) as session:
        case = await make_test_case(session, writer.team.project, name=name, proven_steps=steps)
    return case.id


async def api_env(api: Api, writer: Writer, role: Role = Role.EDITOR) -> dict[str, str]:
    return cli_env(TESTRUN_URL=api.http_url, TESTRUN_TOKEN=await writer.token(role))


def junit_suite(path: Path) -> ElementTree.Element:
    xmlschema.XMLSchema(JUNIT_XSD).validate(path.read_bytes())
    suite = ElementTree.parse(path).getroot().find("testsuite")
    assert suite is not None
    return suite


async def test_a_passing_run_followed_exits_0_with_a_valid_junit_and_a_plain_log(
    api: Api, shared_worker: Path, writer: Writer, site: str, tmp_path: Path
) -> None:
    first = f"Login {uuid.uuid4().hex[:6]}"
    await named_case(writer, first, login_steps(site))
    second_id = await named_case(writer, "Login by id", login_steps(site))
    junit = tmp_path / "reports" / "junit.xml"
    junit.parent.mkdir()

    done = run_cli(
        "run", first, str(second_id), "--parallel", "2", "--follow", "--junit", str(junit),
        "--name", "CI smoke", "--tag", "ci",
        env=await api_env(api, writer),
        timeout=120,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    log = done.stdout
    assert ANSI_ESCAPE not in log
    assert "CI smoke" in log and ": RUNNING" in log
    assert f"{first}: step 3/5 click_element PASSED" in log
    assert "Login by id: step 5/5 assert_text_present PASSED" in log
    assert f"{first} PASSED in" in log
    assert "2 passed, 0 failed, 0 skipped of 2 (pass rate 100.0%)" in log
    assert f"JUnit report written to {junit}" in log
    suite = junit_suite(junit)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")
    assert sorted(case.get("name") or "" for case in suite.iter("testcase")) == sorted(
        [first, "Login by id"]
    )


async def test_on_a_terminal_items_get_live_progress_bars(
    api: Api, shared_worker: Path, writer: Writer, site: str
) -> None:
    name = f"On a terminal {uuid.uuid4().hex[:6]}"
    await named_case(writer, name, login_steps(site))
    env = await api_env(api, writer) | {"TERM": "xterm-256color", "COLUMNS": "120"}
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "run", name, "--follow"],
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    printed = b""
    try:
        while True:
            try:
                chunk = await asyncio.to_thread(os.read, controller, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            printed += chunk
        code = await asyncio.to_thread(process.wait, 60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()

    text = printed.decode(errors="replace")
    assert code == 0, text
    assert "\x1b[" in text  # a live display: colours and cursor movements
    assert "━" in text  # the bar
    assert "5/5" in text
    assert "1 passed, 0 failed, 0 skipped of 1" in text


async def test_a_failing_step_exits_1_and_prints_its_message(
    api: Api, shared_worker: Path, writer: Writer, site: str, tmp_path: Path
) -> None:
    name = f"Wrong landing {uuid.uuid4().hex[:6]}"
    await named_case(writer, name, login_steps(site, expect="/nowhere"))
    junit = tmp_path / "junit.xml"

    done = run_cli(
        "run", name, "--follow", "--junit", str(junit),
        env=await api_env(api, writer),
        timeout=120,
    )  # fmt: skip

    assert done.returncode == 1, done.stdout + done.stderr
    assert ANSI_ESCAPE not in done.stdout
    assert f"{name}: step 4/5 assert_url_contains FAILED" in done.stdout
    assert "/nowhere" in done.stdout.split("assert_url_contains FAILED", 1)[1]
    assert "0 passed, 1 failed, 0 skipped of 1" in done.stdout
    suite = junit_suite(junit)
    assert suite.get("failures") == "1"


async def test_without_follow_it_starts_the_run_and_json_is_machine_readable(
    api: Api, shared_worker: Path, writer: Writer, site: str
) -> None:
    name = f"Detached {uuid.uuid4().hex[:6]}"
    await named_case(writer, name, login_steps(site))
    env = await api_env(api, writer)

    done = run_cli("run", name, "--json", env=env)

    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] in ("RUNNING", "QUEUED", "COMPLETED")
    final = await writer.team.wait_final(uuid.UUID(run["id"]), timeout_s=60)
    listed = run_cli("runs", "list", env=env)
    shown = run_cli("runs", "show", run["id"], "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert run["runName"] in listed.stdout and run["id"] in listed.stdout
    assert ANSI_ESCAPE not in listed.stdout
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == str(final.status).upper()
    assert json.loads(shown.stdout)["items"][0]["testCase"]["name"] == name


async def test_ctrl_c_with_stop_on_interrupt_stops_the_run_and_exits_1(
    api: Api, shared_worker: Path, writer: Writer, site: str
) -> None:
    name = f"Slow {uuid.uuid4().hex[:6]}"
    steps = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=60)]
    await named_case(writer, name, steps)

    with started(
        "run", name, "--follow", "--stop-on-interrupt", env=await api_env(api, writer)
    ) as (process, output):
        output.wait_for(f"{name}: step 1/2 navigate_to PASSED", timeout=60)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        printed = output.drain()

    assert code == 1, printed
    assert "Stopping the run..." in printed
    assert "CANCELLED" in printed


async def test_ctrl_c_asks_and_yes_stops_the_run(
    api: Api, shared_worker: Path, writer: Writer, site: str
) -> None:
    name = f"Asked {uuid.uuid4().hex[:6]}"
    steps = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=60)]
    await named_case(writer, name, steps)

    with started(
        "run", name, "--follow", env=await api_env(api, writer), stdin=subprocess.PIPE
    ) as (process, output):
        output.wait_for(f"{name}: step 1/2 navigate_to PASSED", timeout=60)
        process.send_signal(signal.SIGINT)
        assert process.stdin is not None
        process.stdin.write("y\n")
        process.stdin.flush()
        code = process.wait(timeout=60)
        printed = output.drain()

    assert code == 1, printed
    assert "Stop the run? [y/N]" in printed
    assert "Stopping the run..." in printed
    assert "CANCELLED" in printed


async def test_usage_and_connection_errors_exit_2_with_a_clear_message(
    api: Api, writer: Writer
) -> None:
    env = await api_env(api, writer)
    viewer = await api_env(api, writer, Role.VIEWER)
    nobody = cli_env(TESTRUN_URL="http://127.0.0.1:9", TESTRUN_TOKEN="trn_x")
    case_id = await named_case(writer, f"Viewer may not {uuid.uuid4().hex[:6]}", [])

    unknown = run_cli("run", "No such test", env=env)
    missing_id = run_cli("run", str(uuid.uuid4()), env=env)
    no_url = run_cli("run", "X", env=cli_env(TESTRUN_TOKEN="trn_x"))
    down = run_cli("run", "X", env=nobody)
    bad_token = run_cli("run", "X", "--token", "trn_wrong", env=env)
    read_only = run_cli("run", str(case_id), env=viewer)
    not_a_run = run_cli("runs", "show", "42", env=env)

    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "Error: no test case named 'No such test'",
    )
    assert missing_id.returncode == 2 and "not found" in missing_id.stderr.lower()
    assert no_url.returncode == 2 and "give --url or set TESTRUN_URL" in no_url.stderr
    assert down.returncode == 2 and "cannot reach the api at http://127.0.0.1:9" in down.stderr
    assert bad_token.returncode == 2 and "refused the token" in bad_token.stderr
    assert read_only.returncode == 2 and "Error:" in read_only.stderr, read_only.stderr
    assert (not_a_run.returncode, not_a_run.stderr.strip()) == (2, "Error: not a run id: '42'")
