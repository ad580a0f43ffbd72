"""2. First (cold) scan of real media files: files per second, and scaling with worker threads,
against the floor set by metadata extraction itself: files x median per-file time / cores."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from common import Figure, median, timed
from library import build


def run(work: Path, files: int) -> list[Figure]:
    _, config_path = build(work, files, video_share=0.6)

    from mediacore.bootstrap import open_library
    from mediacore.extract import extract_metadata
    from mediacore.maintenance import ScanOptions, run_maintenance_scan
    from mediacore.scanner import EnhancedMediaScanner

    cores = os.cpu_count() or 1
    figures = []
    results = {}
    for workers in sorted({1, cores, cores * 2, 8}):
        os.environ["MEDIACORE_DATA_DIR"] = str(work / f"data-{workers}")
        config, _ = open_library(config_path, f"sqlite:///{work / f'cold-{workers}.db'}")  # a fresh database
        options = ScanOptions(workers=workers)
        elapsed, summary = timed(partial(run_maintenance_scan, config, options))
        assert summary.totals["added"] == files, summary.totals
        results[workers] = elapsed

    # The floor: every file's metadata read once, single-threaded, spread perfectly over the cores.
    per_file = []
    for category in config.categories.values():
        entries = list(EnhancedMediaScanner(category.root_path, category.extensions).walk())
        share = len(entries) * 60 // files
        for entry in entries[:share]:
            per_file.append(timed(partial(extract_metadata, entry.path, category))[0])
    floor = files * median(per_file) / cores
    mean_floor = files * (sum(per_file) / len(per_file)) / cores
    best_workers = min(results, key=results.__getitem__)
    best = results[best_workers]
    figures.append(
        Figure(
            f"cold scan of {files} files (best: {best_workers} workers)",
            best,
            "s",
            floor,
            "extraction floor (files x median / cores)",
            "<= 1.3x the floor",
            best <= 1.3 * floor,
            {
                "median_extract_ms": median(per_file) * 1000,
                "cores": cores,
                "by_workers_s": results,
                "files_per_second": files / best,
            },
        )
    )
    figures.append(
        Figure(
            "cold scan vs the mean-based floor",
            best,
            "s",
            mean_floor,
            "files x mean / cores (stricter: the mix is 60% video)",
            "(context)",
        )
    )
    for workers, elapsed in results.items():
        figures.append(
            Figure(
                f"cold scan, {workers} worker(s): files/s",
                files / elapsed,
                "files/s",
                files / results[1],
                "1 worker",
                "(scaling)",
            )
        )
    return figures
