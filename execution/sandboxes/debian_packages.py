"""Installing a Debian package the local sandbox needs (Chromium, bubblewrap), as root only."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)


def apt_install(package: str) -> str | None:
    """Install Debian's `package` with apt-get: None once done, else why it was not.

    Only done as root on Debian or Ubuntu; apt-get's output goes to this process's stdout
    and stderr as it runs.
    """
    if not (
        os.geteuid() == 0
        and shutil.which("apt-get") is not None
        and Path("/etc/debian_version").exists()
    ):
        return f"{package} can only be installed here as root on Debian/Ubuntu."
    logger.info("Installing Debian's %s with apt-get", package)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", package]):
        completed = subprocess.run(command, env=env, check=False)
        if completed.returncode != 0:
            return f"`{' '.join(command)}` failed with exit status {completed.returncode}."
    return None
