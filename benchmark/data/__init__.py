"""Data: video reading and writing in chunks (`video_io`), dataset manifests and sequences
(`manifest`), and the results store of records (`store`).

May import: `benchmark.core`.
"""
