"""Replaying one proven step on a page: one handler per action, element indexing."""
