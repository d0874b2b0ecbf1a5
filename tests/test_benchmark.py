"Synthetic benchmark (GENERATED data): determinism of the tiny run, completeness of results.json, tables from the JSON."
import json
import numpy as np
import pytest
from medrat.benchmark import (run_benchmark, detail_metrics, main_table, detail_table, results_markdown, findings,
                              DEFAULT_CONFIGS, BASELINES, CEILING, SCALES, GENERATED)
from medrat.synth import make_dataset


@pytest.fixture(scope='module')
def tiny_runs(tmp_path_factory):
    "Two tiny runs with the same seed (separate folders and caches) and one with another seed."
    root = tmp_path_factory.mktemp('bench')
    a = run_benchmark(root / 'a', scale='tiny', seed=0, log=None, publish=root / 'pub' / 'synth.md')
    b = run_benchmark(root / 'b', scale='tiny', seed=0, configs=['MedRAT (full)', 'few-shot (1% paired)'], log=None)
    c = run_benchmark(root / 'c', scale='tiny', seed=1, configs=['MedRAT (full)'], log=None)
    load = lambda d: json.loads((root / d / 'results.json').read_text())
    return root, load('a'), load('b'), load('c')


def test_same_seed_same_numbers(tiny_runs):
    root, a, b, c = tiny_runs
    for name in ('MedRAT (full)', 'few-shot (1% paired)'):
        assert a['configs'][name]['metrics'] == b['configs'][name]['metrics']
        assert [h['train_loss'] for h in a['configs'][name]['history']] == [h['train_loss'] for h in b['configs'][name]['history']]
    assert a['baselines'] == b['baselines']
    ra, rb = (json.loads((root / d / 'test_reports.json').read_text()) for d in ('a', 'b'))
    assert ra['MedRAT (full)'] == rb['MedRAT (full)']


def test_other_seed_other_data(tiny_runs):
    _, a, _, c = tiny_runs
    assert a['baselines']['random report'] != c['baselines']['random report']   # a test that can fail


def test_json_has_every_config_and_baseline(tiny_runs):
    root, a, _, _ = tiny_runs
    assert a['complete'] is True and a['benchmark'] == GENERATED
    assert set(a['configs']) == set(DEFAULT_CONFIGS)
    assert set(a['baselines']) == set(BASELINES) | {CEILING}
    for r in list(a['baselines'].values()) + [c['metrics'] for c in a['configs'].values()]:
        assert set(r) >= {'n', 'nlg', 'ce', 'detail'}
        assert r['n'] == SCALES['tiny']['n_test']
        assert {'BLEU-1', 'BLEU-4', 'ROUGE-L'} <= set(r['nlg'])
        assert r['ce']['micro']['f1_lo'] <= r['ce']['micro']['f1'] <= r['ce']['micro']['f1_hi']
    assert a['configs']['few-shot (1% paired)']['n_pairs'] == 1 and a['configs']['MedRAT (full)']['n_pairs'] == 0
    assert a['configs']['no memory']['model_overrides'] == {'use_memory': False}
    for c in a['configs'].values():                     # every config: the decoder's health, distinct reports, convergence
        assert 0 <= c['health']['micro']['f1'] <= 1 and 1 <= c['distinct_reports'] <= SCALES['tiny']['n_test']
        assert c['convergence']['epochs_run'] == len(c['history']) and c['steps'] == len(c['history']) * 5
        assert c['convergence']['converged'] is False    # one epoch is no evidence of convergence
    assert {'total', 'features'} <= set(a['wall_time_s']) and 'cpu_count' in a['machine']


def test_markdown_comes_from_json(tiny_runs):
    root, a, _, _ = tiny_runs
    md = (root / 'a' / 'results.md').read_text()
    assert md == results_markdown(a)
    assert (root / 'pub' / 'synth.md').read_text().endswith(md)
    t = main_table(a)
    assert len(t.splitlines()) == 2 + len(DEFAULT_CONFIGS) + len(BASELINES) + 1
    for name in list(DEFAULT_CONFIGS) + list(BASELINES): assert f'| {name} |' in t
    assert f"{a['configs']['MedRAT (full)']['metrics']['nlg']['BLEU-1']:.3f}" in t.splitlines()[2 + len(BASELINES)]
    assert len(detail_table(a).splitlines()) == len(t.splitlines())
    assert 'MedRAT (full)' in findings(a)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="scale='medium'"): run_benchmark(tmp_path, scale='medium')
    with pytest.raises(ValueError, match='no such'): run_benchmark(tmp_path, scale='tiny', configs=['no such'])
    with pytest.raises(ValueError, match='n_imgs'): run_benchmark(tmp_path, scale='tiny', n_imgs=3)


def test_detail_metrics_naive_reference():
    d = make_dataset(40, seed=3, images=False)
    rng = np.random.default_rng(0)
    hyps = [d.reports[i] if rng.random() < .5 else d.reports[(i + 1) % len(d)] for i in range(len(d))]
    m = detail_metrics(hyps, d.details, n_boot=300, seed=2)
    from medrat.details import parse_details, detail_hits
    h = detail_hits(hyps, d.details)
    right = scored = right_s = scored_s = 0
    for k, v in h.items():                         # naive loop over (image, attribute) pairs
        if k.endswith('.stated'): continue
        st = h[k.split('.')[0] + '.stated']
        for i in range(len(d)):
            if np.isnan(v[i]): continue
            scored += 1; right += v[i]
            if st[i] == 1: scored_s += 1; right_s += v[i]
    assert m['micro']['n'] == scored and m['micro_if_stated']['n'] == scored_s
    assert np.isclose(m['micro']['accuracy'], right / scored)
    assert np.isclose(m['micro_if_stated']['accuracy'], right_s / scored_s)
    assert m['micro']['lo'] < m['micro']['accuracy'] < m['micro']['hi']
    assert json.dumps(detail_metrics(hyps, d.details, n_boot=300, seed=2)) == json.dumps(m)
    perfect = detail_metrics(d.reports, d.details, n_boot=50)
    assert perfect['micro']['accuracy'] == perfect['micro']['lo'] == perfect['macro']['accuracy'] == 1.


def test_any_registered_ablation_runs_and_unknown_names_are_refused(tmp_path):
    from medrat.core import DataError
    r = run_benchmark(tmp_path / 'x', scale='tiny', seed=0, configs=['paper pooling'], log=None)
    assert set(r['configs']) == {'paper pooling'}
    assert r['configs']['paper pooling']['model_overrides'] == {'pool_gated': False, 'l2norm_global': False}
    with pytest.raises(DataError, match="unknown configuration 'no brain'; known: MedRAT \\(full\\)"):
        run_benchmark(tmp_path / 'y', scale='tiny', configs=['no brain'], log=None)
    assert not (tmp_path / 'y' / 'results.json').exists()
