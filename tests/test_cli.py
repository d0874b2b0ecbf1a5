"""The `medrat` command end to end on a tiny run: train, generate, evaluate (NIH test and the users'-own-IU-images path)."""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from PIL import Image

from medrat.cli import main, load_run, generate_for_images, evaluate_iu
from medrat.core import DataError
from medrat.data import nih_sample, iu_xray_reports


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, '-c', 'from medrat.cli import main; main()', *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    "A real (tiny) run of experiment 1: tiny presets, 12 NIH images per split, 1 epoch."
    d = tmp_path_factory.mktemp('run')
    os.environ['MEDRAT_CACHE'] = str(d/'cache')
    main(['train', '--out', str(d/'run'), '--preset', 'tiny', '--epochs', '1', '--limit', '12', '--quiet'])
    return d/'run'


def test_train_leaves_every_output(tiny_run):
    for f in ('model.pth', 'config.json', 'vocab.json', 'results.json', 'test_reports.csv', 'embeddings.pt'):
        assert (tiny_run/f).exists(), f
    res = json.loads((tiny_run/'results.json').read_text())
    assert {'MedRAT (ours)', 'most frequent report', 'random report', 'classify-then-retrieve'} <= set(res['metrics'])


def test_generate_from_image_files(tiny_run, tmp_path):
    df = nih_sample()
    paths = []
    for i, (img, bits) in enumerate([(df.image[0], 8), (df.image[0], 16)]):
        a = img if bits == 8 else img.astype(np.uint16) * 257              # a 16-bit PNG reads the same
        p = tmp_path/f'x{i}.png'; Image.fromarray(a).save(p); paths.append(p)
    out = generate_for_images(paths, tiny_run, beam_size=2)
    assert len(out) == 2 and all(isinstance(r, str) for r in out.report)
    assert out.report[0] == out.report[1]                                 # same pixels, same report
    r = run_cli('generate', str(paths[0]), '--run', str(tiny_run), '--beam', '1', '--out', str(tmp_path/'r.csv'))
    assert r.returncode == 0, r.stderr
    assert str(paths[0]) in r.stdout and (tmp_path/'r.csv').exists()


def test_generate_errors_are_one_line(tiny_run, tmp_path):
    bad = tmp_path/'bad.png'; bad.write_bytes(b'not a png')
    r = run_cli('generate', str(bad), '--run', str(tiny_run))
    assert r.returncode == 2 and 'bad.png' in r.stderr and 'Traceback' not in r.stderr
    r = run_cli('generate', str(bad), '--run', str(tmp_path/'missing'))
    assert r.returncode == 2 and 'run folder not found' in r.stderr and 'Traceback' not in r.stderr


def test_vocabulary_mismatch(tiny_run, tmp_path):
    import shutil
    d = tmp_path/'copy'; shutil.copytree(tiny_run, d, ignore=shutil.ignore_patterns('*.pth.tmp'))
    v = json.loads((d/'vocab.json').read_text())
    key = 'itos' if isinstance(v, dict) and 'itos' in v else None
    if key: v[key] = v[key][:4] + list(reversed(v[key][4:]))
    else: v = v[:4] + list(reversed(v[4:]))
    (d/'vocab.json').write_text(json.dumps(v))
    with pytest.raises(DataError, match='vocabulary mismatch'): load_run(d)


def _write_iu_images(root, ids, layout):
    df = nih_sample()
    for k, i in enumerate(ids):
        img = df.image[k % len(df)]
        if layout == 'r2gen':
            (root/i).mkdir(parents=True, exist_ok=True)
            for j in (0, 1): Image.fromarray(img).save(root/i/f'{j}.png')
    return root


def test_evaluate_on_users_iu_images(tiny_run, tmp_path):
    iu = iu_xray_reports()
    ids = list(iu[iu.split == 'test'].id[:3])
    root = _write_iu_images(tmp_path/'images', ids, 'r2gen')
    res = evaluate_iu(tiny_run, root, limit=3, n_boot=20)
    assert res['n_studies'] == 3
    ours = res['metrics']['MedRAT (ours)']
    assert 0 <= ours['nlg']['BLEU-1'] <= 1 and 'ROUGE-L' in ours['nlg']
    r = run_cli('evaluate', '--run', str(tiny_run), '--iu-images', str(root), '--limit', '3', '--beam', '1')
    assert r.returncode == 0, r.stderr
    assert (tiny_run/'evaluate-iu-test.json').exists()


def test_evaluate_without_images_folder(tiny_run, tmp_path):
    r = run_cli('evaluate', '--run', str(tiny_run), '--iu-images', str(tmp_path/'nope'))
    assert r.returncode == 2 and 'not found' in r.stderr and 'Traceback' not in r.stderr


def test_data_summary_command():
    r = run_cli('data-summary')
    assert r.returncode == 0 and 'IU X-ray' in r.stdout and 'NIH' in r.stdout
