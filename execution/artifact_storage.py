"""Where a result's files are kept: the local artifacts directory, or S3-compatible storage.

The engine always writes a result's files under the local artifacts directory first
(execution/result_files.py). With the local backend (the default) they stay there and
the api serves them from the same directory, so api and workers share a disk. With
`TESTRUN_ARTIFACTS_URL=s3://bucket/prefix` the worker uploads them when the result ends
and deletes its copies, and the api streams them back behind the same signed URLs, so
workers on several hosts need no shared disk and the bucket can stay private.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

# The api streams an object in chunks of about this size.
CHUNK_BYTES = 256 * 1024


class ArtifactNotFound(LookupError):
    """No artifact is stored at that path."""


class ArtifactStorage(Protocol):
    """Keeps result files where the api can serve them; paths are relative to the root."""

    async def keep(self, root: Path, folder: Path) -> None:
        """Store every file under `folder` (inside the local `root`) as its path from `root`."""

    def read(self, path: str) -> AsyncIterator[bytes]:
        """The artifact's bytes in chunks; `ArtifactNotFound` when there is none."""


@dataclass(frozen=True, slots=True)
class LocalArtifactStorage:
    """The artifacts directory itself: files stay where the engine wrote them."""

    root: Path

    async def keep(self, root: Path, folder: Path) -> None:
        """Nothing to do: the files already are in the directory the api serves."""

    def file(self, path: str) -> Path:
        """The file of `path` (already checked by `resolvers.artifacts.artifact_path`)."""
        base = self.root.resolve()
        found = (base / path).resolve()
        if not found.is_relative_to(base) or not found.is_file():
            raise ArtifactNotFound(path)
        return found

    async def read(self, path: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks."""
        with self.file(path).open("rb") as stream:
            while chunk := await asyncio.to_thread(stream.read, CHUNK_BYTES):
                yield chunk


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key prefix, from `s3://bucket/prefix`."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """`s3://bucket/some/prefix` → bucket and prefix; ValueError for anything else."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"TESTRUN_ARTIFACTS_URL must look like s3://bucket/prefix, not {url}")
        return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))


class ObjectArtifactStorage:
    """S3-compatible object storage (AWS S3, MinIO, R2...) through obstore."""

    def __init__(
        self,
        location: S3Location,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        """Store under `location`; `endpoint` for a non-AWS server (http allowed)."""
        # Imported here: obstore costs every process ~8 MB, and most keep artifacts on disk.
        from obstore.store import S3Store

        self.location = location
        self._store = S3Store(
            location.bucket,
            prefix=location.prefix or None,
            endpoint=endpoint,
            region=region or "us-east-1",
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            # MinIO and friends are addressed as endpoint/bucket, not bucket.endpoint.
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )

    async def keep(self, root: Path, folder: Path) -> None:
        """Upload every file under `folder`, then delete the local copies."""
        if not folder.is_dir():
            return
        for file in sorted(path for path in folder.rglob("*") if path.is_file()):
            key = file.relative_to(root).as_posix()
            await self._store.put_async(key, file)
        await asyncio.to_thread(shutil.rmtree, folder, True)

    async def read(self, path: str) -> AsyncIterator[bytes]:
        """The object's bytes, streamed from the bucket."""
        from obstore.exceptions import NotFoundError

        try:
            found = await self._store.get_async(path)
        except (NotFoundError, FileNotFoundError) as error:
            raise ArtifactNotFound(path) from error
        async for chunk in found.stream(min_chunk_size=CHUNK_BYTES):
            yield bytes(chunk)
