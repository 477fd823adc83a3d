"""Report size and render time for a 50-case run (the synthetic GPU run: 2,000 samples per
case, telemetry, stages, layers, accuracy and a 3-entry baseline history each).

    python benchmarks/bench_report.py            # prints figures, exits 1 over the 2 s budget
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fixtures.synthetic import synthetic_run  # noqa: E402

from harness.report.outputs import write_reports  # noqa: E402

BUDGET_S = 2.0


def main() -> int:
    run, history = synthetic_run(["yunet", "yolo", "resnet", "transformer"], limit=50,
                                 hostile=False)
    assert len(run.cases) == 50
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(5):
            t0 = time.perf_counter()
            paths = write_reports(run, tmp, history)
            times.append(time.perf_counter() - t0)
        size = paths.html.stat().st_size
        md, junit = paths.markdown.stat().st_size, paths.junit.stat().st_size
    times.sort()
    print(f"50 cases: index.html {size / 1e6:.2f} MB, summary.md {md / 1e3:.1f} kB, "
          f"junit.xml {junit / 1e3:.1f} kB")
    print(f"render+write all three: median {times[2]:.3f} s, min {times[0]:.3f} s, "
          f"max {times[-1]:.3f} s (5 runs; budget {BUDGET_S} s)")
    return 0 if times[2] < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
