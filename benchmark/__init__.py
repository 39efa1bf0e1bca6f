"""ULVR-Bench: benchmark harness for video reconstruction from ultra-low-bitrate representations."""

__version__ = "0.2.0"
