"""One module per section of the table (`--only` ids), plus soak and profile.

Each section module has `run(ctx) -> list[Figure]`; soak and profile write
their own reports.
"""
