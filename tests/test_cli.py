"""The `medrat` command end to end on a tiny run: train, generate, evaluate (NIH test and the users'-own-IU-images path)."""
import json, os, re, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
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
    assert {'MedRAT (ours)', 'most frequent report', 'random report', 'classify-then-retrieve'} <= set(res['test']['NIH ChestX-ray14'])


def test_train_a_configuration_of_the_tables(tiny_run, tmp_path):
    "`--config` trains an ablation of the paper's tables through the same recipe; kept under its own folder."
    from medrat.publish import keep_train_run
    main(['train', '--out', str(tmp_path/'run'), '--preset', 'tiny', '--epochs', '1', '--limit', '12', '--quiet', '--config', 'no memory'])
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['configuration'] == 'no memory' and cfg['model']['use_memory'] is False
    assert json.loads((tiny_run/'config.json').read_text())['model']['use_memory'] is True and 'configuration' not in json.loads((tiny_run/'config.json').read_text())
    kept = keep_train_run(tmp_path/'run', tmp_path/'kept')
    assert kept.parent.name == 'no-memory' and kept.name == 'seed-9153' and (kept/'results.json').exists()

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


# ---------------------------------------------------------------- bad input with a real run (the rest: test_bad_input.py)
def test_generate_keeps_the_good_ones(tiny_run, tmp_path):
    "One unreadable, missing or degenerate file among many: each named in one line, the others' reports kept."
    df = nih_sample()
    good = [tmp_path/'a.png', tmp_path/'b.png']
    for p, img in zip(good, df.image[:2]): Image.fromarray(img).save(p)
    bad = tmp_path/'bad.png'; bad.write_bytes(b'not a png')
    dot = tmp_path/'dot.png'; Image.fromarray(np.full((2, 2), 99, np.uint8)).save(dot)
    black = tmp_path/'black.png'; Image.fromarray(np.zeros((64, 64), np.uint8)).save(black)
    missing = tmp_path/'missing.png'
    alone = run_cli('generate', *map(str, good), '--run', str(tiny_run), '--beam', '1', '--out', str(tmp_path/'alone.csv'))
    assert alone.returncode == 0, alone.stderr
    r = run_cli('generate', str(good[0]), str(bad), str(missing), str(dot), str(black), str(good[1]),
                '--run', str(tiny_run), '--beam', '1', '--out', str(tmp_path/'r.csv'))
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    err = [l for l in r.stderr.splitlines() if l.startswith('medrat generate: ')]
    assert len(err) == 5 and err[-1] == ('medrat generate: 4 of 6 image(s) failed (named above); '
                                         'reports of the other 2 written'), r.stderr
    for p, why in [(bad, 'not an image file'), (missing, 'image file not found'), (dot, 'degenerate image (2x2 px'),
                   (black, 'degenerate image (every pixel is black')]:
        assert any(str(p) in l and why in l for l in err), (p, r.stderr)
    assert r.stdout == alone.stdout                                          # the good ones: the same reports
    assert pd.read_csv(tmp_path/'r.csv').equals(pd.read_csv(tmp_path/'alone.csv'))
    r = run_cli('generate', str(bad), str(missing), '--run', str(tiny_run), '--out', str(tmp_path/'none.csv'))
    assert r.returncode == 2 and 'no report written' in r.stderr and not (tmp_path/'none.csv').exists()


def test_generate_bit_depth(tiny_run, tmp_path):
    "12-bit data in a 16-bit PNG: a warning line without --max-value, the 8-bit file's report with it."
    img = nih_sample().image[0]
    Image.fromarray(img).save(tmp_path/'x8.png')
    Image.fromarray(img.astype(np.uint16) * 16).save(tmp_path/'x12.png')       # 16 * 255 = 4080: values / 4080 = / 255
    ref = run_cli('generate', str(tmp_path/'x8.png'), '--run', str(tiny_run), '--beam', '1')
    dark = run_cli('generate', str(tmp_path/'x12.png'), '--run', str(tiny_run), '--beam', '1')
    fixed = run_cli('generate', str(tmp_path/'x12.png'), '--run', str(tiny_run), '--beam', '1', '--max-value', '4080')
    assert ref.returncode == dark.returncode == fixed.returncode == 0, (dark.stderr, fixed.stderr)
    assert 'medrat generate: warning: ' in dark.stderr and 'nearly black' in dark.stderr and '--max-value 4095' in dark.stderr
    assert 'medrat generate: warning' not in fixed.stderr
    assert fixed.stdout.split('\t')[1] == ref.stdout.split('\t')[1]


def _edited(run, tmp_path, edit):
    import shutil
    d = tmp_path/'edited'; shutil.copytree(run, d)
    c = json.loads((d/'config.json').read_text()); edit(c)
    (d/'config.json').write_text(json.dumps(c))
    return d


@pytest.mark.parametrize('edit,says', [
    (lambda c: c['train'].update(img_size=c['train']['img_size'] * 2), "field 'train.img_size' is"),
    (lambda c: c['train'].update(img_size='big'), "field 'train.img_size' is 'big', not a positive whole number"),
    (lambda c: c['train'].update(backbone='resnet18'), "field 'train.backbone' is 'resnet18' (512 channels)"),
    (lambda c: c['train'].update(backbone='vgg'), "field 'train.backbone' is 'vgg', not one of"),
    (lambda c: c['train'].update(max_tokens=c['train']['max_tokens'] + 5), "field 'train.max_tokens'"),
    (lambda c: c['model'].update(d_model=c['model']['d_model'] * 2), "field 'model.d_model' is"),
    (lambda c: c['model'].update(colour='red'), "field 'model.colour' is not a model setting"),
    (lambda c: c['data'].update(vocab=c['data']['vocab'] + 1), "field 'data.vocab'"),
    (lambda c: c.update(data=[1, 2]), "field 'data' is not a JSON object"),
])
def test_edited_config_refused(tiny_run, tmp_path, edit, says):
    assert load_run(tiny_run)['img_size'] > 0                                # the run as written loads
    d = _edited(tiny_run, tmp_path, edit)
    with pytest.raises(DataError, match='config.json: ' + re.escape(says)): load_run(d)


def test_edited_config_one_line(tiny_run, tmp_path):
    d = _edited(tiny_run, tmp_path, lambda c: c['train'].update(img_size=c['train']['img_size'] * 2))
    r = run_cli('generate', str(tmp_path/'x.png'), '--run', str(d))
    ours = [l for l in r.stderr.splitlines() if l.startswith('medrat ')]      # (torch may add its own warnings)
    assert r.returncode == 2 and len(ours) == 1 and "config.json: field 'train.img_size'" in ours[0] and 'Traceback' not in r.stderr


def test_evaluate_bad_split(tiny_run, tmp_path):
    r = run_cli('evaluate', '--run', str(tiny_run), '--iu-images', str(tmp_path), '--split', 'tset')
    assert r.returncode == 2 and "--split 'tset': unknown; choose one of train, val, test" in r.stderr
    with pytest.raises(DataError, match="split='tset': not an IU X-ray split"): evaluate_iu(tiny_run, tmp_path, split='tset')


def test_benchmark_seeds_with_a_longer_budget(tmp_path, capsys):
    "`medrat benchmark --seeds 1 --epochs 2`: the override reaches the run, is recorded in its settings, and the steps follow it."
    main(['benchmark', '--scale', 'tiny', '--configs', 'MedRAT (full)', '--seeds', '1', '--epochs', '2',
          '--out', str(tmp_path / 'r'), '--cache-dir', str(tmp_path / 'c')])
    run = json.loads((tmp_path / 'r' / 'seed-0' / 'results.json').read_text())
    full = run['configs']['MedRAT (full)']
    assert run['settings']['epochs'] == 2 and len(full['history']) == 2
    assert full['steps'] == 2 * -(-run['settings']['n_reports'] // run['settings']['bs'])   # an epoch covers the reports once
    summary = json.loads((tmp_path / 'r' / 'results.json').read_text())
    assert summary['configs']['MedRAT (full)']['0']['steps'] == full['steps']
    assert 'MedRAT (full)' in capsys.readouterr().out


def test_wide_beam_clamped_and_length_penalty_checked(tiny_run, tmp_path):
    p = tmp_path/'x.png'; Image.fromarray(nih_sample().image[0]).save(p)
    r = run_cli('generate', str(p), '--run', str(tiny_run), '--beam', '50', '--length-penalty', '0.6')
    assert r.returncode == 0, r.stderr
    assert 'medrat generate: warning: --beam 50: wider than 10' in r.stderr and 'Traceback' not in r.stderr
    r = run_cli('generate', str(p), '--run', str(tiny_run), '--length-penalty', '-1')
    assert r.returncode == 2 and '--length-penalty -1.0: must be a finite number >= 0' in r.stderr


def test_empty_reports_counted_and_named(tiny_run, tmp_path):
    from medrat.data import DataWarning
    paths = []
    for i in range(2):
        p = tmp_path/f'x{i}.png'; Image.fromarray(nih_sample().image[i]).save(p); paths.append(p)
    run = load_run(tiny_run)
    import torch
    with torch.no_grad(): run['model'].decoder.out.bias[run['model'].cfg.eos_id] = 1e4   # EOS first, always
    with pytest.warns(DataWarning, match=r"2 of 2 generated report\(s\) are empty \(first: .*x0.png\)"):
        df = generate_for_images(paths, run=run, beam_size=3)
    assert list(df.report) == ['', '']

