"""Run the benchmarks: ``python bench/run.py [--quick] [--only NAME ...] [--report PATH]``.

Each figure is printed as a ratio against a baseline measured in the same run on the same
machine; the JSON report holds every figure and the machine, with what the run saw of the
machine itself: how fast it ran a fixed Python loop, and how much of its CPU time its host took
during each part (on a virtual machine, steal: a slow spell that is the host's, not the code's).
The exit status is 1 when a target does not hold. The targets are for the full sizes:
``--quick`` is a smoke run, at sizes where fixed costs (an interpreter starting, a request's own
cost) outweigh what a target measures, so its figures are printed and reported but not judged.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Figure, Steal, python_loop_us, write_report

MODULES = {
    "rescan": "rescan",
    "cold": "cold_scan",
    "listing": "listing",
    "stream": "streaming",
    "upload": "upload",
}
SIZES = {
    "full": {"rescan": 100_000, "cold": 2_000, "listing": 100_000, "stream": 1024**3, "upload": 2 * 1024**3},
    "quick": {
        "rescan": 10_000,
        "cold": 200,
        "listing": 10_000,
        "stream": 64 * 1024**2,
        "upload": 128 * 1024**2,
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", choices=list(SIZES["full"]), help="run only these")
    parser.add_argument("--report", type=Path, default=Path(__file__).parent / "report.json")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    arguments = parser.parse_args()
    sizes = SIZES["quick" if arguments.quick else "full"]
    chosen = arguments.only or list(sizes)
    work = Path(tempfile.mkdtemp(prefix="mediacore-bench-", dir=Path(__file__).parent.parent))
    speed = python_loop_us()
    print(f"a fixed Python loop: {speed:.1f} µs (how fast the machine is today)", flush=True)
    figures: list[Figure] = []
    steal: dict[str, float] = {}
    try:
        for name in chosen:
            module = importlib.import_module(MODULES[name])
            print(f"== {name} ({sizes[name]:,})", flush=True)
            meter = Steal()
            part = module.run(work / name, sizes[name])
            for figure in part:
                print(figure.line(judged=not arguments.quick), flush=True)
            figures += part
            steal[name] = meter.percent()
            print(f"(the host took {steal[name]:.1f} % of the CPU time during {name}: steal)", flush=True)
    finally:
        write_report(figures, arguments.report, arguments.quick, steal_percent=steal, python_loop_us=speed)
        if not arguments.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"report: {arguments.report}")
    return 0 if arguments.quick or all(figure.holds is not False for figure in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
