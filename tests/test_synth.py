"Failure cases and the benchmark assembly of medrat.synth (the chapters nbs/12_synth.ipynb and 12b_details.ipynb hold the main tests)."
import numpy as np, pytest
from medrat.core import DataError, CHEXPERT_LABELS
from medrat.synth import make_dataset, make_benchmark, write_report, render, sample_patient, SynthData
from medrat.details import detail_hits, parse_details


@pytest.mark.parametrize('kw, msg', [(dict(n=-2), 'n=-2'), (dict(n=2, size=4), 'size=4'),
                                     (dict(n=2, rates=dict(fracture=.2)), 'fracture'), (dict(n=2, style='poetic'), 'poetic')])
def test_bad_arguments_name_the_argument(kw, msg):
    with pytest.raises(DataError, match=msg): make_dataset(**kw)


def test_unknown_finding_and_bad_lengths():
    with pytest.raises(DataError, match='unknown finding'): write_report({'fracture': {}}, style='canonical')
    d = make_dataset(4, images=False)
    with pytest.raises(DataError, match='4 details'): detail_hits(d.reports[:2], d.details)


def test_empty_dataset():
    d = make_dataset(0)
    assert len(d) == 0 and d.images.shape == (0, 128, 128) and d.labels.shape == (0, len(CHEXPERT_LABELS))


def test_generated_label_and_frame():
    d = make_dataset(3, seed=1, size=32)
    assert 'GENERATED' in repr(d) and (d.frame().source.str.contains('GENERATED')).all()
    df = d.frame()
    assert list(df.columns[:4]) == ['image_id', 'image', 'findings', 'labels'] and df.image[0].shape == (32, 32)
    assert df.image_id[2] == 'synth-1-2'


def test_benchmark_sets_are_independent_and_paired():
    b = make_benchmark(n_images=30, n_reports=30, n_test=10, n_val=5, seed=2, size=32)
    assert b['reports'].images is None and b['images'].images.shape == (30, 32, 32)
    assert len({s.seed for s in b.values()}) == 4 and set(b['images'].reports).isdisjoint(b['reports'].reports)
    t = b['test']      # paired: the test reports describe the test images' own findings
    for r, dt in zip(t.reports, t.details): assert set(parse_details(r)) == set(dt) - {'patient'}
    # re-rendering the recorded details reproduces the images exactly
    assert np.array_equal(render(t.details, 32), t.images)


def test_render_does_not_depend_on_chunking():
    dets = [dict(patient=sample_patient(np.random.default_rng(i)), effusion=dict(side='left', size='large')) for i in range(5)]
    assert np.array_equal(render(dets, 48, chunk=2), render(dets, 48, chunk=5))
