"""Files a user did not write, runs that go wrong, two runs at once: nothing in a file runs, every failure is one line."""
import os, pickle, re, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch

import medrat
from medrat.core import DataError, run_lock
from medrat.model import MedRAT, MedRATConfig
from medrat.text import Tokenizer

PKG = Path(medrat.__file__).parent


class Evil:
    "A pickle whose loading would run a shell command that creates `marker`."
    def __init__(self, marker): self.marker = str(marker)
    def __reduce__(self): return (os.system, (f'touch {self.marker}',))


def _tiny_model():
    tok = Tokenizer.build(['the heart is normal .', 'no effusion .'] * 3, min_count=1)
    return MedRAT(MedRATConfig.tiny(len(tok), pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id), tokenizer=tok)


def _bad_files(d: Path, good: bytes):
    "name -> writer of a crafted, a truncated and a foreign file."
    return dict(crafted=lambda f: f.write_bytes(pickle.dumps(Evil(d / 'marker'))),
                truncated=lambda f: f.write_bytes(good[:len(good) // 2]),
                foreign=lambda f: f.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 64))


def test_every_torch_load_is_weights_only():
    "No `torch.load` in the package reads a file without `weights_only=True`."
    for f in PKG.glob('*.py'):
        src = f.read_text()
        for m in re.finditer(r'torch\.load\(', src):
            call = src[m.start():src.find('\n', m.start())]
            assert 'weights_only=True' in call, f'{f.name}: {call}'


@pytest.mark.parametrize('kind', ['crafted', 'truncated', 'foreign'])
def test_model_file(tmp_path, kind):
    good = _tiny_model().save(tmp_path / 'good.pth').read_bytes()
    f = tmp_path / 'model.pth'; _bad_files(tmp_path, good)[kind](f)
    with pytest.raises(DataError, match=r'model\.pth: not a medrat file \(or damaged\)') as e: MedRAT.load(f)
    assert '\n' not in str(e.value) and 'medrat train --fresh' in str(e.value)
    assert not (tmp_path / 'marker').exists()


@pytest.mark.parametrize('kind', ['crafted', 'truncated', 'foreign'])
def test_embeddings_file(tmp_path, kind):
    from medrat.alignment import load_artefacts
    good = tmp_path / 'good.pt'; torch.save(dict(z_global=torch.zeros(2, 3)), good)
    run = tmp_path / 'run'; run.mkdir(); _bad_files(tmp_path, good.read_bytes())[kind](run / 'embeddings.pt')
    with pytest.raises(DataError, match=r'embeddings\.pt: not a medrat file \(or damaged\)'): load_artefacts(run)
    assert not (tmp_path / 'marker').exists()


@pytest.mark.parametrize('kind', ['crafted', 'truncated', 'foreign'])
def test_feature_cache_entry_is_rebuilt(tmp_path, kind):
    from medrat.features import ImageBackbone, cached_features
    bb, imgs = ImageBackbone('tiny'), torch.rand(3, 32, 32)
    first = cached_features(imgs, bb, k=1, size=32, cache_dir=tmp_path, progress=False)
    _bad_files(tmp_path, first['path'].read_bytes())[kind](first['path'])
    with pytest.warns(UserWarning, match='not a medrat file'):
        again = cached_features(imgs, bb, k=1, size=32, cache_dir=tmp_path, progress=False)
    assert not again['cached'] and torch.equal(again['orig'], first['orig'])
    assert not (tmp_path / 'marker').exists()
    assert cached_features(imgs, bb, k=1, size=32, cache_dir=tmp_path, progress=False)['cached']   # rebuilt whole


def test_two_processes_fill_one_cold_feature_cache(tmp_path):
    "Two processes build the same cache entry at once: both finish, no temporary file is left behind."
    code = textwrap.dedent(f"""
        import torch
        from medrat.features import ImageBackbone, cached_features
        torch.manual_seed(0); bb, imgs = ImageBackbone('tiny'), torch.rand(40, 32, 32)
        for _ in range(3): r = cached_features(imgs, bb, k=2, size=32, cache_dir={str(tmp_path)!r}, progress=False, batch_size=4)
        print(r['orig'].float().sum().item())""")
    ps = [subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert all(p.returncode == 0 for p in ps), [o[1][-500:] for o in outs]
    assert outs[0][0] == outs[1][0]
    assert [f.name for f in tmp_path.iterdir() if 'tmp' in f.name] == []


def test_second_train_on_one_folder_stops_at_once(tmp_path):
    "`medrat train` on a folder another process is training in: exit 2, one line naming the folder and that process."
    out = tmp_path / 'run'
    with run_lock(out):
        r = subprocess.run([sys.executable, '-c', 'from medrat.cli import main; main()', 'train', '--out', str(out),
                            '--preset', 'tiny', '--epochs', '1', '--limit', '12', '--quiet'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-800:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f'process {os.getpid()}' in lines[0] and str(out.resolve()) in lines[0], r.stderr
    assert not (out / 'config.json').exists()


def test_stale_lock_does_not_block(tmp_path):
    p = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    (tmp_path / '.lock').write_text(p.stdout)                          # left by a process that no longer runs
    with run_lock(tmp_path): pass
    assert not (tmp_path / '.lock').exists()


def test_diverged_run_exits_1(monkeypatch, capsys):
    "A run that diverges: one line, exit code 1 (bad input stays 2)."
    import medrat.experiments
    from medrat.cli import main
    from medrat.learner import TrainingDiverged
    def boom(**kw): raise TrainingDiverged('runs/x: training diverged at epoch 0, step 3: the lang loss is nan (not finite)')
    monkeypatch.setattr(medrat.experiments, 'train_experiment', boom)
    with pytest.raises(SystemExit) as e: main(['train', '--out', 'runs/never', '--preset', 'tiny', '--quiet'])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == 'medrat train: error: runs/x: training diverged at epoch 0, step 3: the lang loss is nan (not finite)'


def test_diverged_experiment_writes_no_results(tmp_path):
    "train_experiment with an absurd learning rate stops at the first non-finite loss; no results table is written."
    from medrat.experiments import train_experiment
    from medrat.learner import TrainingDiverged
    with pytest.raises(TrainingDiverged, match='training diverged at epoch 0, step'):
        train_experiment(tmp_path / 'run', preset='tiny', epochs=2, limit=12, progress=False, lr=1e30)
    assert not (tmp_path / 'run' / 'results.json').exists() and not (tmp_path / 'run' / 'results.md').exists()


@pytest.mark.parametrize('field,value', [('lr', 0.), ('lr', float('inf')), ('bs', 0), ('w_pair', -1.), ('epochs', -1)])
def test_train_config_refuses(field, value):
    from medrat.learner import TrainConfig
    with pytest.raises(DataError, match=f'TrainConfig: {field}='): TrainConfig.tiny(**{field: value})


@pytest.mark.parametrize('field,value', [('dropout', 1.), ('dropout', -.1), ('w_class', -1.), ('temperature', 0.), ('d_model', 0)])
def test_model_config_refuses(field, value):
    with pytest.raises(ValueError, match=f'MedRATConfig: {field}='): MedRATConfig.tiny(10, **{field: value})
