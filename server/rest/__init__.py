"""The REST compatibility routes of test-run-api.md and runs-execute.md, over the resolvers."""
