"""Runs every benchmark module under bench/ (each has a `main()`) and prints their figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main() -> int:
    names = sorted(
        module.name
        for module in pkgutil.iter_modules(bench.__path__)
        if not module.name.startswith("_")
    )
    if not names:
        print("no benchmarks yet: each issue with a performance goal adds one under bench/")
        return 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench/{name}")
        started = time.monotonic()
        module.main()
        print(f"== bench/{name} took {time.monotonic() - started:.1f}s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
