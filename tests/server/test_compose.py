"""docker-compose.yml and the Dockerfile run commands and settings the code really has."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from server.cli import main
from server.settings import environment_variables

ROOT = Path(__file__).resolve().parents[2]


def load_compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [
        line
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_exec_form(keyword: str) -> list[str]:
    """The last `keyword` instruction (the one that counts), which must be in exec form."""
    values = [arguments for name, arguments in dockerfile_instructions() if name == keyword]
    assert values, f"Dockerfile has no {keyword}"
    parsed = json.loads(values[-1])
    assert isinstance(parsed, list), f"{keyword} must be in exec form"
    return [str(part) for part in parsed]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for name, arguments in dockerfile_instructions():
        if name == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def resolve_command(args: list[str]) -> click.Command:
    """The `testrun` subcommand `args` runs, its options parsed as the CLI would."""
    command: click.Command = main
    context = click.Context(main, info_name="testrun")
    while isinstance(command, click.Group):
        assert args, f"{context.command_path} needs a subcommand"
        name, *args = args
        subcommand = command.get_command(context, name)
        assert subcommand is not None, f"`{context.command_path} {name}` is not a command"
        command = subcommand
        context = click.Context(command, info_name=name, parent=context)
    # Parsing (not invoking) rejects unknown options and missing required ones.
    command.make_context(context.info_name, list(args), parent=context.parent)
    return command


def built_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = load_compose()["services"]
    built = {name: service for name, service in services.items() if "build" in service}
    assert built, "no service is built from the Dockerfile"
    return built


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {name: value for name, _, value in (entry.partition("=") for entry in env)}
    return dict(env)


def test_console_script_is_the_click_group() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert pyproject["project"]["scripts"]["testrun"] == "server.cli:main"
    assert isinstance(main, click.Group)


def test_dockerfile_runs_testrun_api_by_default() -> None:
    assert dockerfile_exec_form("ENTRYPOINT") == ["testrun"]
    assert resolve_command(dockerfile_exec_form("CMD")).name == "api"


def test_dockerfile_sets_only_settings_the_app_reads() -> None:
    ours = {name for name in dockerfile_env() if name.startswith("TESTRUN_")}

    assert ours, "the Dockerfile sets no TESTRUN_ variable"
    assert ours <= environment_variables()


@pytest.mark.parametrize("name", sorted(built_services()))
def test_service_command_is_a_real_subcommand(name: str) -> None:
    service = built_services()[name]
    command = service.get("command", dockerfile_exec_form("CMD"))
    if isinstance(command, str):
        command = command.split()

    resolve_command([str(part) for part in command])


@pytest.mark.parametrize("name", sorted(built_services()))
def test_service_environment_is_read_by_settings(name: str) -> None:
    names = set(environment(built_services()[name]))

    assert names, f"{name} sets no environment"
    assert names <= environment_variables(), names - environment_variables()


def test_image_versions() -> None:
    services = load_compose()["services"]

    assert services["postgres"]["image"] in ("postgres:16", "postgres:16-alpine")
    assert services["redis"]["image"] in ("redis:7", "redis:7-alpine")


def test_api_waits_for_the_migration_to_finish() -> None:
    depends_on = load_compose()["services"]["api"]["depends_on"]

    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_runs_once() -> None:
    migrate = load_compose()["services"]["migrate"]

    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    "name", sorted(name for name in load_compose()["services"] if name != "migrate")
)
def test_service_is_checked_or_waits_for_healthy_ones(name: str) -> None:
    service = load_compose()["services"][name]
    healthcheck = service.get("healthcheck") or {}
    has_healthcheck = bool(healthcheck.get("test")) and not healthcheck.get("disable", False)
    depends_on = service.get("depends_on") or {}
    waits_for_healthy = isinstance(depends_on, dict) and any(
        (dependency or {}).get("condition") == "service_healthy"
        for dependency in depends_on.values()
    )

    assert has_healthcheck or waits_for_healthy


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_share_the_artifacts_volume(name: str) -> None:
    services = load_compose()["services"]
    api_volumes = set(services["api"]["volumes"])
    service = services[name]
    artifacts_dir = environment(service)["TESTRUN_ARTIFACTS_DIR"]

    mounts = [volume for volume in service["volumes"] if volume.endswith(f":{artifacts_dir}")]
    assert mounts, f"{name} does not mount {artifacts_dir}"
    assert set(mounts) <= api_volumes
    assert mounts[0].split(":")[0] in load_compose()["volumes"]
