"""Repository-level pytest configuration.

The shipped suites under ``suites/`` are collected by the plugin's naming rule; what lies in
``goldens/`` (calibration images and baselines, data not suites) and ``benchmarks/`` (scripts
that print tables, never tests) is never collected, whatever its file names.
"""

collect_ignore_glob = ["goldens/*", "benchmarks/*"]
