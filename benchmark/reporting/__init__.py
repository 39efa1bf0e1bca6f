"""Reporting: what a reader sees. Table writers (`writers`: Markdown, CSV, LaTeX), the report
folder (`report`), the notes under its tables (`notes`), RD plots (`plots`), per-frame curves
and qualitative grids (`figures`), the headline (`headline`), the leaderboard page
(`leaderboard`) and headless Chromium for checking it (`headless`).

May import: `benchmark.analysis` and everything below it except `execution`.
Never `execution`, `study` or `cli`.
"""
