"""Shared test helpers: real peers on 127.0.0.1, the CLI runner, one timeout scale."""
