"""Core: what every other layer stands on, and nothing of the project's own beneath it.

Errors (`errors`), the one repository root (`paths`), identities and versions of files,
binaries and packages (`identity`, `versions`), ffmpeg (`ffmpeg`), varints (`varint`), colour
conversion (`colour`), weights files and safe unpickling (`weights`), the feature cache
(`featcache`), torch set-up (`torch_setup`), malloc settings (`alloc`), deadlines (`deadline`),
process helpers (`procs`) and plugin loading: the one registry class (`plugins`).

May import: nothing of the project (only the standard library and third-party packages).
"""
