"""The work done for a batch of requests: decode, generate in a process pool, build records."""
