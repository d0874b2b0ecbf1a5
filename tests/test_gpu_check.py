"""tools/gpu_check.py, the prepared GPU run, checked on a CPU with its tiny setting: the paper-preset run is killed
mid-epoch and resumed, the benchmark runs once, seeds are kept, and the JSON says so."""
import importlib.util, json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('gpu_check', ROOT / 'tools' / 'gpu_check.py')
gpu_check = importlib.util.module_from_spec(spec); spec.loader.exec_module(gpu_check)


def test_tiny_run_kills_resumes_and_keeps(tmp_path, monkeypatch):
    monkeypatch.setenv('MEDRAT_CACHE', str(tmp_path / 'cache'))
    rep = gpu_check.main(['--tiny', '--out', str(tmp_path / 'gpu')])
    saved = json.loads((tmp_path / 'gpu' / 'gpu_check.json').read_text())
    assert saved == json.loads(json.dumps(rep))
    p = saved['steps']['paper']
    assert p['resumed'] and p['killed_after_seconds'] > 0 and p['images_per_second'] > 0
    assert 'resuming from epoch' in (tmp_path / 'gpu' / 'gpu_check.log').read_text()
    assert json.loads(Path(p['results']).read_text())['selection']['epochs_run'] == 2
    assert saved['steps']['large']['steps'] > 0
    kept = sorted((tmp_path / 'gpu' / 'kept').glob('*/seed-*/results.json'))
    assert [k.parent.name for k in kept] == ['seed-0', 'seed-1']


def test_random_weights_only_where_imagenet_ones_are_missing(monkeypatch, capsys):
    import torch, torchvision
    import medrat.features as F
    def offline(name, timeout=30.): raise F.PretrainedWeightsError('offline')
    monkeypatch.setattr(F, 'torchvision_imagenet_state_dict', offline)
    gpu_check.allow_random_weights()
    sd = F.torchvision_imagenet_state_dict('resnet18')
    assert set(sd) == set(torchvision.models.resnet18(weights=None).state_dict())
    assert 'random weights' in capsys.readouterr().out
    monkeypatch.setattr(F, 'torchvision_imagenet_state_dict', lambda name, timeout=30.: {'w': torch.ones(1)})
    gpu_check.allow_random_weights()
    assert F.torchvision_imagenet_state_dict('resnet18') == {'w': torch.ones(1)}   # real weights are used as they are
