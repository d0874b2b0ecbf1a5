#!/usr/bin/env python
"""Write results/*.md, results/headline/*.md and results/figures/*.png from run outputs (tables are never typed by hand):

    python tools/results_tables.py [runs/nih-iu] [runs/synth] [runs/synth-seeds] [runs/synth-long] [runs/synth-lr]
    python tools/results_tables.py --check     # exit 1 when a page of the kept runs is not what they give
    python tools/make_readme.py

The pages come from `medrat.publish.write_results` (chapter `publish`): results/nih-iu.md from the `medrat train` runs kept
in results/runs/nih-iu-<steps>/medrat-full/seed-<s>/ (a run folder given, default runs/nih-iu, is kept there first),
results/synth-benchmark.md from `medrat benchmark` (one seed, every configuration) and the full model at other seeds,
results/synth-long.md from the full model trained longer (runs/synth-long/seed-S) and at other learning rates
(runs/synth-lr/*), and one page per folder of runs kept in results/runs/ (synth-benchmark -> synth-converged.md,
synth-benchmark-9400 -> synth-converged-9400.md). A part whose runs are absent keeps the files it wrote before.
"""
import sys
from pathlib import Path
from medrat.core import DataError
from medrat.publish import PARTS, write_results, check_results, kept_folders

root = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    results = root / 'results'
    if '--check' in sys.argv:
        if not kept_folders(results / 'runs'): print("results/runs: no kept runs"); sys.exit(0)
        stale = check_results(results)
        for f in stale: print(f"{f.relative_to(root)} is not what results/runs gives: run tools/results_tables.py and commit")
        sys.exit(int(bool(stale)))
    runs = {k: root / 'runs' / k for k in PARTS} | dict(zip(PARTS, map(Path, sys.argv[1:])))
    try:
        for line in write_results(results, runs): print(line)
    except DataError as e: sys.exit(str(e))
