"""Artifacts in S3-compatible storage (a real moto server): workers upload, the api serves."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker

from execution.artifact_storage import (
    ArtifactNotFound,
    LocalArtifactStorage,
    ObjectArtifactStorage,
    S3Location,
)
from execution.visual_baselines import artifact_fetcher
from models.database import transaction
from models.results import CheckpointResult, TestRunResult, TestStepResult
from server.artifacts import artifact_links
from server.services import Services, artifact_storage
from server.settings import Settings
from tests.execution.checkpoint_site import CheckpointSite, serve_checkpoint_site, visual_steps
from tests.execution.engine_harness import (
    Team,
    login_steps,
    rows,
    start_engine,
    stop_engine,
)
from tests.factories import make_test_case
from tests.fixtures.object_storage import ACCESS_KEY, SECRET_KEY


async def read_all(storage: ObjectArtifactStorage | LocalArtifactStorage, path: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(path)])


async def test_a_results_files_are_uploaded_and_the_local_copies_removed(
    object_storage: ObjectArtifactStorage, tmp_path: Path
) -> None:
    folder = tmp_path / "run" / "item" / "result"
    (folder / "downloads").mkdir(parents=True)
    (folder / "step-0001.png").write_bytes(b"\x89PNG one")
    (folder / "downloads" / "report.csv").write_bytes(b"a,b\n" * 100_000)

    await object_storage.keep(tmp_path, folder)

    assert not folder.exists()
    assert await read_all(object_storage, "run/item/result/step-0001.png") == b"\x89PNG one"
    big = await read_all(object_storage, "run/item/result/downloads/report.csv")
    assert big == b"a,b\n" * 100_000
    with pytest.raises(ArtifactNotFound):
        await read_all(object_storage, "run/item/result/step-0002.png")


def test_the_setting_picks_the_backend(s3_endpoint: str, tmp_path: Path) -> None:
    local = artifact_storage(Settings(artifacts_dir=tmp_path))
    assert local == LocalArtifactStorage(tmp_path)
    remote = artifact_storage(
        Settings(
            artifacts_url="s3://shots/team-a/testrun",
            AWS_ENDPOINT_URL=s3_endpoint,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        )
    )
    assert isinstance(remote, ObjectArtifactStorage)
    assert remote.location == S3Location(bucket="shots", prefix="team-a/testrun")


def test_an_artifacts_url_that_is_not_s3_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="artifacts_url"):
        Settings(artifacts_url="ftp://shots/x")


async def test_workers_upload_and_the_api_serves_from_the_bucket(
    migrated_database_url: str,
    stub_broker: StubBroker,
    tmp_path: Path,
    team: Team,
    site: str,
    object_storage: ObjectArtifactStorage,
    services: Services,
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    # The worker writes under its own directory; the api has another, empty one: what it
    # serves can only come from the bucket (workers and api on different hosts).
    worker_dir = tmp_path / "worker-host"
    engine, worker = start_engine(
        migrated_database_url, stub_broker, worker_dir, storage=object_storage
    )
    try:
        run_id = await team.run_of(
            [{"proven_steps": login_steps(site)}], screenshot_every_step=True
        )
        await team.start(run_id, stub_broker)
        run = await team.wait_final(run_id)
    finally:
        stop_engine(engine, worker)
    assert run.passed_tests == 1
    (result,) = await rows(team, TestRunResult, test_run_id=run_id)
    steps = await rows(team, TestStepResult, test_run_result_id=result.id)
    shots = [step.screenshot_path for step in steps if step.screenshot_path]
    assert len(shots) == 5
    assert not any(worker_dir.rglob("*.png"))  # uploaded, then removed from the worker

    services.artifacts = object_storage
    links = artifact_links(settings, "http://testserver")

    def sign(stored: str) -> str | None:
        return links.artifact(stored, owner=result.id)

    for shot in shots:
        url = sign(shot)
        assert url is not None
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
    missing = sign(shots[0].replace("step-", "none-"))
    assert missing is not None
    response = await client.get(missing)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Artifact not found: ")
    forged = sign(shots[0])
    assert forged is not None
    response = await client.get(forged.replace("signature=", "signature=0"))
    assert response.status_code == 403


async def test_a_visual_checkpoint_compares_with_a_baseline_kept_in_the_bucket(
    migrated_database_url: str,
    stub_broker: StubBroker,
    tmp_path: Path,
    team: Team,
    object_storage: ObjectArtifactStorage,
) -> None:
    worker_dir = tmp_path / "worker-host"
    engine, worker = start_engine(
        migrated_database_url, stub_broker, worker_dir, storage=object_storage
    )
    try:
        with serve_checkpoint_site() as site:
            async with transaction(team.sessions) as session:
                case = await make_test_case(session, team.project, proven_steps=visual_steps(site))
            checkpoints = []
            for shift in (0, 10):
                CheckpointSite.visual["shift_px"] = shift
                run_id = await team.run_case_again(case.id, stub_broker)
                (result,) = await rows(team, TestRunResult, test_run_id=run_id)
                (checkpoint,) = await rows(team, CheckpointResult, test_run_result_id=result.id)
                checkpoints.append(checkpoint)
    finally:
        stop_engine(engine, worker)
    first, moved = checkpoints
    assert not any(worker_dir.rglob("*.png"))  # the first image was only in the bucket

    assert moved.status == "failed", moved.error_message
    assert float(moved.diff_percentage) == 0.33
    baseline = await read_all(object_storage, moved.baseline_screenshot_path)
    assert baseline == await read_all(object_storage, first.actual_screenshot_path)
    assert (await read_all(object_storage, moved.diff_screenshot_path)).startswith(b"\x89PNG")


async def test_a_baseline_in_neither_place_is_missing_and_leaves_no_file(
    object_storage: ObjectArtifactStorage, tmp_path: Path
) -> None:
    fetch = artifact_fetcher(tmp_path / "artifacts", object_storage)
    kept = tmp_path / "artifacts" / "run" / "visual" / "home-baseline.png"

    with pytest.raises(FileNotFoundError, match=r"^No stored image at gone/home\.png$"):
        await fetch("/gone/home.png", kept)

    assert not kept.exists()
