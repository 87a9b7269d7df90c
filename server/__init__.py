"""Processes and HTTP wiring: Starlette app, auth, settings, the `testrun` CLI, dev stack."""
