"""wstail: tap live Socket.IO and WebSocket feeds as normalized NDJSON."""

__version__ = "0.1.0"
