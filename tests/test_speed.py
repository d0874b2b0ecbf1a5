"""tools/speed.py: the benchmark's model is timed beside the presets, and its operators can be listed."""
import importlib.util
from pathlib import Path
import torch
from medrat.benchmark import SCALES

root = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('speed', root / 'tools' / 'speed.py')
speed = importlib.util.module_from_spec(spec); spec.loader.exec_module(speed)

def test_benchmark_setting_is_the_small_scale():
    backbone, size, lr, model, kw = speed.setting('benchmark')
    s = SCALES['small']
    assert (backbone, size, lr, model, kw) == (s.backbone, s.img_size, s.lr, s.model, s.model_kw) and kw['d_model'] == 64
    assert speed.setting('cpu')[3] == 'cpu' and speed.setting('cpu')[4] == {}

def test_profile_lists_the_step_operators():
    table = speed.profile_step('tiny', 4, torch.device('cpu'), vocab=50, T=12, rows=5)
    assert 'aten::' in table and 'Self CPU' in table
