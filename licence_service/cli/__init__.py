"""`licledger`: the command line. ``main`` is the entry point; one module per command group,
``common`` holds the shared options and the error handling (no command imports another)."""
