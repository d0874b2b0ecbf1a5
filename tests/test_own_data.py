"""The paper's setting on the user's own data, on generated copies of the real layouts (medrat.testing.fake_*):
`medrat train --images chexpert:CSV --reports mimic:ROOT --test mimic:ROOT --out DIR` end to end with the tiny preset,
IU X-ray in both layouts, MIMIC-CXR with uncompressed tables and reports elsewhere, one-line errors, and streaming
from disk with flat memory."""
import json, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch

from medrat.cli import main
from medrat.testing import fake_chexpert, fake_mimic, fake_iu, radiograph
from medrat.sources import source_reports, source_pairs
from medrat.streaming import ImageFiles
from medrat.batches import ImageSet, ReportSet, UnpairedLoader
from medrat.features import image_augmentation
from medrat.text import Tokenizer
from medrat.core import N_LABELS


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp('own')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return dict(csv=fake_chexpert(d / 'CheXpert-v1.0-small', n=32), mimic=fake_mimic(d / 'mimic', n_studies=60),
                    r2gen=fake_iu(d / 'iu-r2gen', 'r2gen', n_per_split=5), openi=fake_iu(d / 'iu-openi', 'openi', n_per_split=5),
                    d=d)


def test_paper_setting_command(data, tmp_path, monkeypatch):
    "The paper's setting from the command line (CheXpert images, MIMIC-CXR reports and test split), --preset tiny: results.json and the tables."
    monkeypatch.setenv('MEDRAT_CACHE', str(tmp_path / 'cache'))
    out = tmp_path / 'run'
    main(['train', '--images', f"chexpert:{data['csv']}", '--reports', f"mimic:{data['mimic']}", '--test', f"mimic:{data['mimic']}",
          '--out', str(out), '--preset', 'tiny', '--quiet'])
    r = json.loads((out / 'results.json').read_text())
    test = r['test']['MIMIC-CXR']
    assert set(test) == {'MedRAT (ours)', 'most frequent report', 'random report'}
    m = test['MedRAT (ours)']
    assert {'BLEU-1', 'BLEU-4', 'METEOR', 'ROUGE-L', 'CIDEr'} <= set(m['nlg'])
    assert {'micro', 'macro', 'Cardiomegaly'} <= set(m['ce_u_zeros']) and 'micro' in m['ce_u_ones']
    n_test = pd.read_csv(data['mimic'] / 'mimic-cxr-2.0.0-split.csv.gz').query("split == 'test'").study_id.nunique()
    assert m['n'] == n_test == r['config']['data']['n_test']['MIMIC-CXR']
    assert r['config']['data']['n_train_images'] == 32 and r['selection']['steps'] > 0
    assert 'MIMIC-CXR' in r['health'] and 'converged' in r['selection']['convergence']
    md = (out / 'results.md').read_text()
    assert md.startswith('**Table 1 layout') and 'Table 2 layout' in md and 'U-Ones' in md
    assert len(pd.read_csv(out / 'test_reports_mimic-cxr.csv')) == n_test
    assert list((tmp_path / 'cache' / 'stores').glob('train-*/orig-00000.npy'))     # frozen features went to a store
    # run again: resumes (nothing left to train), same results
    main(['train', '--images', f"chexpert:{data['csv']}", '--reports', f"mimic:{data['mimic']}", '--test', f"mimic:{data['mimic']}",
          '--out', str(out), '--preset', 'tiny', '--quiet'])
    assert json.loads((out / 'results.json').read_text())['test']['MIMIC-CXR']['MedRAT (ours)']['nlg'] == m['nlg']


@pytest.mark.parametrize('layout', ['r2gen', 'openi'])
def test_iu_images_both_layouts(data, layout, tmp_path, monkeypatch):
    "IU X-ray images as a training and a zero-shot test source, in either layout; IU reports from the package."
    monkeypatch.setenv('MEDRAT_CACHE', str(tmp_path / 'cache'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        main(['train', '--images', f'iu:{data[layout]}', '--reports', 'iu', '--test', f'iu:{data[layout]}',
              '--out', str(tmp_path / 'run'), '--preset', 'tiny', '--epochs', '1', '--limit', '5', '--quiet'])
    r = json.loads((tmp_path / 'run' / 'results.json').read_text())
    assert r['config']['data']['n_train_images'] == 5 and r['test']['IU X-ray']['MedRAT (ours)']['n'] == 5


def test_mimic_uncompressed_and_reports_elsewhere(tmp_path):
    "MIMIC-CXR with .csv tables and the report files under --reports-root: the same tables come out."
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        root = fake_mimic(tmp_path / 'm', n_studies=24, gz=False, reports_root=tmp_path / 'reports')
    assert not list(root.glob('files/*/*/*.txt'))
    reps = source_reports(f'mimic:{root}', 'train', reports_root=tmp_path / 'reports')
    test = source_pairs(f'mimic:{root}', 'test', reports_root=tmp_path / 'reports')
    assert len(reps) == 16 and len(test) == 4 and all(isinstance(t, str) and t for t in reps.texts)


def test_bad_sources_one_line(data, tmp_path, capsys):
    for argv, msg in [(['--images', f"chexpert:{data['csv']}", '--reports', f"chexpert:{data['csv']}"], 'a chexpert source has no reports'),
                      (['--images', 'mimic'], 'needs a MIMIC-CXR-JPG folder'),
                      (['--test', 'nih'], 'a nih source has no paired images and reports'),
                      (['--images', f"chexpert:{data['d']}"], 'is a folder; give the label CSV'),
                      (['--images', 'padchest:/x'], "unknown source kind 'padchest'"),
                      (['--amp', 'fp8'], "--amp 'fp8': unknown")]:
        with pytest.raises(SystemExit) as e: main(['train', *argv, '--out', str(tmp_path / 'x'), '--preset', 'tiny'])
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and msg in err and len(err.splitlines()) == 1, err


def _rss_mb() -> float:
    return int(Path('/proc/self/statm').read_text().split()[1]) * 4096 / 2 ** 20


def test_streaming_memory_is_flat(tmp_path):
    "3,000 pictures on disk streamed with views drawn on the fly: resident memory does not grow with the images read."
    from PIL import Image
    n, side = 3000, 128
    base = [radiograph(96, 80, seed=s) for s in range(16)]
    paths = []
    for i in range(n):
        p = tmp_path / f'{i:05d}.png'; Image.fromarray(base[i % 16]).save(p); paths.append(p)
    y = np.eye(N_LABELS)[np.arange(n) % N_LABELS]
    texts = ['the heart is normal .', 'small left effusion .', 'no pneumothorax .']
    tok = Tokenizer.build(texts, min_count=1)
    dl = UnpairedLoader(ImageSet(ImageFiles(paths, side), y, augment=image_augmentation(side)), ReportSet(texts, y[:3]), tok,
                        bs=50, epoch_len='images')
    it = iter(dl)
    for _ in range(5): next(it)
    start = _rss_mb()
    seen = 5
    for _ in it: seen += 1
    grown = _rss_mb() - start
    held = n * side * side * 4 / 2 ** 20                     # what holding the pictures would take: 188 MiB
    assert seen == n // 50 and grown < 0.15 * held, f'resident memory grew {grown:.0f} MiB over {n} images'


def _ddp_worker(rank, world, port, d, out):
    import os
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    import torch.distributed as dist
    from medrat.own_data import train_on_sources
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            r = train_on_sources(f"chexpert:{d['csv']}", f"mimic:{d['mimic']}", test=[f"mimic:{d['mimic']}"], out_dir=out,
                                 preset='tiny', backbone='tiny', fine_tune=True, img_size=32, epochs=1, n_boot=10,
                                 progress=False, cache_dir=Path(out) / 'cache', device='cpu')
        torch.save(dict(rank=rank, steps=r.get('selection', {}).get('steps'), world=r.get('world_size')), Path(out) / f'rank{rank}.pt')
    finally:
        if dist.is_initialized(): dist.destroy_process_group()


def test_ddp_two_gloo_ranks_own_data(data, tmp_path):
    "`torchrun --nproc_per_node 2` of the own-data run, as two gloo processes: rank 0 evaluates and writes results.json."
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    d = {k: str(v) for k, v in data.items()}
    mp.spawn(_ddp_worker, args=(2, port, d, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1))
    res = json.loads((tmp_path / 'results.json').read_text())
    assert r1['world'] == 2 and r0['steps'] == res['selection']['steps'] > 0
    assert res['test']['MIMIC-CXR']['MedRAT (ours)']['n'] > 0


def test_paper_preset_offline_fails_at_once(data, tmp_path, capsys):
    "The paper preset needs torchvision's ImageNet ResNet-101: offline the command stops in one line, before reading any table."
    import time
    from medrat.testing import offline_hub
    t0 = time.time()
    with offline_hub(), pytest.raises(SystemExit) as e:
        main(['train', '--images', f"chexpert:{data['csv']}", '--reports', f"mimic:{data['mimic']}", '--out', str(tmp_path / 'p'),
              '--preset', 'paper'])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and 'ImageNet weights could not be found or downloaded' in err
    assert not (tmp_path / 'p' / 'config.json').exists() and time.time() - t0 < 60


def test_paired_validation_selects_on_bleu4(data, tmp_path, monkeypatch):
    "--val names a paired validation source; --monitor valid_bleu4 selects on it as the released code does."
    monkeypatch.setenv('MEDRAT_CACHE', str(tmp_path / 'cache'))
    main(['train', '--images', f"chexpert:{data['csv']}", '--reports', f"mimic:{data['mimic']}", '--val', f"mimic:{data['mimic']}",
          '--monitor', 'valid_bleu4', '--out', str(tmp_path / 'run'), '--preset', 'tiny', '--epochs', '2', '--quiet'])
    r = json.loads((tmp_path / 'run' / 'results.json').read_text())
    n_val = pd.read_csv(data['mimic'] / 'mimic-cxr-2.0.0-split.csv.gz').query("split == 'validate'").study_id.nunique()
    assert r['selection']['monitor'] == 'valid_bleu4' and r['config']['data']['n_valid_images'] == n_val
    assert all(0 <= h['valid_bleu4'] <= 1 for h in r['history']) and r['test'] == {}


def test_damaged_training_reports_warned_at_the_source(tmp_path, monkeypatch, capsys):
    "A training report in another language and one without a sentence boundary: counted warnings naming the source and study."
    monkeypatch.setenv('MEDRAT_CACHE', str(tmp_path / 'cache'))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); root = fake_mimic(tmp_path / 'mimic', n_studies=36)
    split = pd.read_csv(root / 'mimic-cxr-2.0.0-split.csv.gz').drop_duplicates('study_id')
    train = list(split.query("split == 'train'").study_id)
    texts = {train[0]: "Le coeur est de taille normale. Pas d'epanchement pleural ni de pneumothorax.",
             train[1]: "heart size normal lungs clear no effusion no pneumothorax"}
    for s, t in texts.items():
        f = next(root.glob(f'files/*/*/s{s}.txt'))
        f.write_text(f"FINAL REPORT\n FINDINGS:\n {t}\n\n IMPRESSION:\n No acute process.\n")
    main(['train', '--images', f"mimic:{root}", '--reports', f"mimic:{root}", '--out', str(tmp_path / 'run'),
          '--preset', 'tiny', '--epochs', '1', '--quiet'])
    msgs = capsys.readouterr().err.splitlines()
    unk = [m for m in msgs if 'outside the vocabulary' in m]
    one = [m for m in msgs if 'no sentence boundary' in m]
    assert len(unk) == 1 and unk[0].startswith('medrat train: warning: training reports (mimic:'), msgs
    assert '1 of 24 report(s) (4.2%)' in unk[0] and unk[0].endswith(f'(first: {train[0]})'), unk
    assert len(one) == 1 and one[0].endswith(f'(first: {train[1]})'), one
