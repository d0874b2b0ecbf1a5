"""The published pages of the kept runs: what `tools/results_tables.py` writes is what the runs give, and a folder of
runs kept at a longer budget gets its own page and, once its full model has 3 seeds, the README's headline."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest
from medrat.publish import (kept_folders, page_name, converged_page, write_results, check_results, headline_folder, readme,
                            kept_train_run, nih_iu_page)

root = Path(__file__).resolve().parents[1]
KEPT = root / 'results' / 'runs' / 'synth-benchmark'
needs_kept = pytest.mark.skipif(not any(KEPT.glob('*/seed-*/results.json')), reason=f"no kept runs in {KEPT.relative_to(root)}")

def test_tools_check():
    "The two scripts' --check pass on the repository as committed (CI runs them too)."
    for tool in ('results_tables.py', 'make_readme.py'):
        p = subprocess.run([sys.executable, str(root / 'tools' / tool), '--check'], capture_output=True, text=True, cwd=root)
        assert p.returncode == 0, p.stdout + p.stderr

def test_readme_is_generated():
    assert readme(root) == (root / 'README.md').read_text()

@needs_kept
def test_kept_pages_are_what_the_runs_give():
    md, head = converged_page(KEPT)
    assert (root / 'results' / 'synth-converged.md').read_text() == md + '\n'
    assert (root / 'results' / 'headline' / 'synth-converged.md').read_text() == head + '\n'
    assert check_results(root / 'results') == []

def test_real_data_page_is_what_the_kept_run_gives():
    "results/nih-iu.md and its headline come from a `medrat train` run kept in the repository, not from a local run folder."
    run = kept_train_run(root / 'results' / 'runs')
    assert run is not None and run.parent.parent.name.startswith('nih-iu-') and not (run / 'model.pth').exists()
    md, head = nih_iu_page(run, None, analyse=False)
    assert (root / 'results' / 'nih-iu.md').read_text() == md + '\n'
    assert (root / 'results' / 'headline' / 'nih-iu.md').read_text() == head + '\n'

def _longer(src: Path, dest: Path, steps: int):
    "The kept runs of `src` as if trained for `steps` optimiser steps: the same settings except the budget."
    for f in src.glob('*/seed-*/results.json'):
        r = json.loads(f.read_text())
        r['settings']['steps'] = steps; r['settings']['epochs'] = r['settings']['epochs'] * steps // 4700
        r['configs'] = {k: dict(c, steps=steps) for k, c in r['configs'].items()}
        d = dest / f.parent.relative_to(src); d.mkdir(parents=True)
        (d / 'results.json').write_text(json.dumps(r, indent=1))

@needs_kept
def test_longer_budget_gets_its_own_page(tmp_path):
    kept = tmp_path / 'results' / 'runs'
    shutil.copytree(KEPT, kept / 'synth-benchmark')
    _longer(KEPT, kept / 'synth-benchmark-9400', 9400)
    assert [page_name(d) for d in kept_folders(kept)] == ['synth-converged', 'synth-converged-9400']
    said = write_results(tmp_path / 'results', runs={}, kept_root=kept, analyse=False)
    res = tmp_path / 'results'
    assert sum(l.startswith('wrote') for l in said) == 2 and sum(l.startswith('skipped') for l in said) == 3, said
    # the 4,700-step page is the repository's, byte for byte; the 9,400-step one is its own page, headline and figure
    assert (res / 'synth-converged.md').read_text() == (root / 'results' / 'synth-converged.md').read_text()
    assert (res / 'headline' / 'synth-converged.md').read_text() == (root / 'results' / 'headline' / 'synth-converged.md').read_text()
    page, head = (res / 'synth-converged-9400.md').read_text(), (res / 'headline' / 'synth-converged-9400.md').read_text()
    assert '9,400 optimiser steps' in page and '4,700' not in page and 'synth-converged-9400-curves.png' in page
    assert '(a) Over 3 seeds, 9,400 steps,' in head
    assert (res / 'figures' / 'synth-converged-9400-curves.png').stat().st_size > 1000
    assert check_results(res, kept) == []
    # the headline speaks of the longest budget at which the full model ran at 3 seeds, with that budget's curves
    assert headline_folder(kept).name == 'synth-benchmark-9400'
    (tmp_path / 'nbs').mkdir(); shutil.copy(root / 'nbs' / 'index.ipynb', tmp_path / 'nbs')
    text = readme(tmp_path)
    assert head.strip() in text and (res / 'headline' / 'synth-converged.md').read_text().strip() not in text
    assert '(results/figures/synth-converged-9400-curves.png)' in text and '(results/synth-converged-9400.md)' in text
    shutil.rmtree(kept / 'synth-benchmark-9400' / 'medrat-full' / 'seed-2')
    assert headline_folder(kept).name == 'synth-benchmark'
