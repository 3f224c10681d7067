"""Loopback fakes for tests and benchmarks: a git smart-HTTP server and forge APIs on 127.0.0.1."""
