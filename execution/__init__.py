"""The engine: broker and actors, sandboxes, steps, events, scheduler loop, notifications."""
