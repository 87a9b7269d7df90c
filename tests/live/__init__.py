"""Live progress end to end: real api processes, real sockets, real Redis."""
