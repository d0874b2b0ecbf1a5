"""Same seed, same numbers: run the `tiny` and `cpu` training presets, the paper's setting on generated copies of the
CheXpert / MIMIC-CXR / IU X-ray layouts (frozen and fine-tuned backbone) and the benchmark through their public entry
points and write every number they produce (metrics, per-epoch losses, selection, generated reports) to one JSON.
Run it on two commits and compare: a refactor that claims "behaviour unchanged" must give identical files.

    python tools/same_seed.py runs/same-seed/before.json      # on the old commit
    python tools/same_seed.py runs/same-seed/after.json       # on the new one
    python tools/same_seed.py --compare runs/same-seed/before.json runs/same-seed/after.json
    python tools/same_seed.py runs/same-seed/part.json own_data      # only some parts: tiny cpu own_data benchmark

The `cpu` preset runs 2 epochs, the own-data runs the `tiny` preset and the benchmark a reduced `small` scale (every configuration, 2 epochs), so the check
takes minutes; the code paths are those of the full runs (cached features, CE selection, beam search, few-shot pairs).
"""
from __future__ import annotations
import hashlib, json, os, subprocess, sys, tempfile
from pathlib import Path

DROP = ('second', 'time', 'wall', 'machine', 'calls', 'load_avg', 'finished', 'threads', 'path', 'files', 'cached',
        'publish', 'out_dir', 'note')

def numbers(o):
    "The JSON without timings, machine facts and paths (what must not change is everything else)."
    if isinstance(o, dict): return {k: numbers(v) for k, v in o.items() if not any(d in k.lower() for d in DROP)}
    if isinstance(o, list): return [numbers(v) for v in o]
    if isinstance(o, float): return round(o, 6)
    return o

def digest(path: Path, root: Path | None = None) -> str:
    "SHA-1 of a file, with the temporary folder it names (paths in a reports CSV) written as ROOT."
    if not path.exists(): return None
    b = path.read_bytes()
    return hashlib.sha1(b.replace(str(root).encode(), b'ROOT') if root else b).hexdigest()

def scores(res: dict) -> dict:
    "The scores of a run's results.json in one layout, whichever version wrote it (the common recipe renamed the keys)."
    if 'metrics' in res: test, health = {'NIH ChestX-ray14': res['metrics']}, {'IU X-ray': res.get('experiment2_language_ceiling')}
    else: test, health = res.get('test', {}), res.get('health', res.get('decoder_health', {}))
    test = {k: {m: {x: y for x, y in v.items() if x != 'distinct_reports'} for m, v in t.items()} for k, t in test.items()}
    return dict(test=test, health=health)

def train(out: Path, *args) -> dict:
    subprocess.run([str(Path(sys.executable).parent / 'medrat'), 'train', '--out', str(out), '--fresh', '--quiet', *args], check=True)
    res = json.loads((out / 'results.json').read_text())
    keep = {k: res.get(k) for k in ('n_params', 'selection', 'history')} | scores(res)
    keep['config'] = {k: v for k, v in res['config'].items() if k not in ('data', 'limit', 'preset')}
    keep['test_reports'] = {p.name: digest(p, out.parent) for p in sorted(out.glob('test_reports*.csv'))}
    return numbers(keep)

def own_data(d: Path) -> dict:
    "The paper's setting on generated copies of the data sets' layouts: CheXpert images, MIMIC-CXR reports, both test sets."
    import warnings
    from medrat.testing import fake_chexpert, fake_mimic, fake_iu
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        csv, mimic, iu = fake_chexpert(d / 'CheXpert-v1.0-small', n=32), fake_mimic(d / 'mimic', n_studies=60), fake_iu(d / 'iu', 'r2gen', n_per_split=5)
    src = ['--images', f'chexpert:{csv}', '--reports', f'mimic:{mimic}', '--test', f'mimic:{mimic}', f'iu:{iu}', '--preset', 'tiny']
    return dict(chexpert_mimic=train(d / 'run', *src, '--epochs', '2'),
                val_bleu4=train(d / 'bleu', *src, '--epochs', '2', '--val', f'mimic:{mimic}', '--monitor', 'valid_bleu4'))

def benchmark(out: Path) -> dict:
    from medrat.benchmark import run_benchmark
    res = run_benchmark(out, scale='small', seed=0, log=None, n_images=200, n_reports=400, n_test=60, n_val=40,
                        epochs=2, n_boot=100)
    keep = {k: res.get(k) for k in ('configs', 'baselines', 'vocab', 'labeler_agreement_min')}
    keep['test_reports'] = digest(out / 'test_reports.json')
    return numbers(keep)

def compare(a: Path, b: Path) -> int:
    A, B = json.loads(a.read_text()), json.loads(b.read_text())
    diffs, added, removed, same = [], [], [], [0]
    def walk(x, y, p):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if k not in x: added.append(f'{p}.{k}')            # a new record (e.g. a new config field): not a change
                elif k not in y: removed.append(f'{p}.{k}')
                else: walk(x[k], y[k], f'{p}.{k}')
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)): walk(u, v, f'{p}[{i}]')
        elif x != y: diffs.append(f'{p}: {x!r} != {y!r}')
        else: same[0] += 1
    walk(A, B, '')
    if added: print(f'only in {b.name} (new records, not compared): ' + ', '.join(sorted(set(added))))
    if removed: print(f'only in {a.name}: ' + ', '.join(sorted(set(removed))))
    print('\n'.join(diffs[:40]) if diffs else f'identical: {same[0]} values agree between {a} and {b}')
    return 1 if diffs or removed else 0

if __name__ == '__main__':
    if sys.argv[1] == '--compare': sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    dest = Path(sys.argv[1]); dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        os.environ['MEDRAT_CACHE'] = str(d / 'cache')      # a cold cache of features and labels, the same for both commits
        parts = dict(tiny=lambda: train(d / 'tiny', '--preset', 'tiny'), cpu=lambda: train(d / 'cpu', '--epochs', '2'),
                     own_data=lambda: own_data(d), benchmark=lambda: benchmark(d / 'synth'))
        res = {k: fn() for k, fn in parts.items() if k in (sys.argv[2:] or parts)}
    dest.write_text(json.dumps(res, indent=1))
    print(f'wrote {dest}')
