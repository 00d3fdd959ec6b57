"""scripts/bench.d/scale_cases.py - the rows of the scale cases (issue 17) for
report.py, in its CASES format: case: (title, unit, higher_is_better,
baseline name, target). Kept apart so the scale rows and the other cases
change without touching each other's lines."""

CASES = {
    "first_entry_all": ("5h big folder: first entry vs all pages", "ms", False,
                        "curl List Blobs pages (all)", ("ratio<=", 1.0)),
    "hwm_big": ("5i big folder: daemon peak RSS (VmHWM)", "MiB", False, "", None),
    "par4": ("6 four readers, four files", "MiB/s", True, "4 parallel curls", ("ratio>=", 0.8)),
    "runs_cold": ("10 ls -l runs/ of a pipeline, cold", "ms", False,
                  "curl queryPipelineRuns pages", ("ratio<=", 2.0)),
    "apps_cold": ("10 ls -l apps/, cold", "ms", False,
                  "curl registration pages", ("ratio<=", 2.0)),
    "export_read": ("11 cold read, export 10x the cache budget", "MiB/s", True,
                    "export the size of the budget", ("ratio>=", 0.9)),
    "export_lmdb": ("11 LMDB file during that read (max)", "MiB", False,
                    "budget + 1 chunk", ("limit", None)),
    "duckdb_cold": ("12 DuckDB count(*) over a glob, cold", "ms", False,
                    "curl of every file", None),
    "duckdb_warm": ("12 DuckDB count(*) over a glob, warm", "ms", False,
                    "local copies", ("ratio<=", 1.25)),
    "duckdb_heads": ("12 DuckDB warm: ETag checks at open", "HEADs", False, "", None),
    "par16": ("13 sixteen readers, sixteen files", "MiB/s", True, "16 parallel curls", ("ratio>=", 0.8)),
}
