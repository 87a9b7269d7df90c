"""Registers the shared fixtures (see tests/fixtures/)."""

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.http",
    "tests.fixtures.broker",
    "tests.fixtures.pages",
    "tests.fixtures.browser",
    "tests.fixtures.chromium_fleet",
    "tests.fixtures.object_storage",
]
