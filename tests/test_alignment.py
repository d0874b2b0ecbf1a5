"Failure cases and file-format checks of the analysis modules (alignment, plots, probes); their notebooks hold the method tests."
import json
import numpy as np
import pytest
import torch
from medrat.core import DataError, N_LABELS, CHEXPERT_LABELS
from medrat.alignment import (load_artefacts, alignment_row, alignment_table, cross_modal_retrieval, knn_label_accuracy,
                              modality_gap, RunArtefacts)
from medrat.plots import plot_embedding, save_figure, explorer, png_export_available, pca_2d
from medrat.probes import memory_usage, report_tokens, image_inputs
from medrat.testing import planted_run


def _write(d, **over):
    n = 6
    e = dict(z_global=torch.randn(2 * n, 8), modality=['image'] * n + ['report'] * n, ids=list(range(2 * n)),
             labels=torch.zeros(2 * n, N_LABELS), label_mask=torch.ones(2 * n, N_LABELS, dtype=torch.bool))
    e.update(over)
    e = {k: v for k, v in e.items() if v is not None}
    d.mkdir(parents=True, exist_ok=True)
    torch.save(e, d / 'embeddings.pt')
    return d


def test_load_run_errors(tmp_path):
    with pytest.raises(DataError, match='run folder not found'): load_artefacts(tmp_path / 'nope')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='no saved embeddings'): load_artefacts(tmp_path / 'empty')
    with pytest.raises(DataError, match=r"missing key\(s\) \['labels'\]"): load_artefacts(_write(tmp_path / 'a', labels=None))
    with pytest.raises(DataError, match="key 'ids' has 3 rows but z_global has 12"): load_artefacts(_write(tmp_path / 'b', ids=[1, 2, 3]))
    with pytest.raises(DataError, match="modality values \\['text'\\]"):
        load_artefacts(_write(tmp_path / 'c', modality=['image'] * 6 + ['text'] * 6))
    (tmp_path / 'd').mkdir(); (tmp_path / 'd' / 'embeddings.pt').write_text('not torch')
    with pytest.raises(DataError, match=r'not a medrat file \(or damaged\): not a torch file'): load_artefacts(tmp_path / 'd')
    torch.save([1, 2], tmp_path / 'd' / 'embeddings.pt')
    with pytest.raises(DataError, match='expected a dict'): load_artefacts(tmp_path / 'd')


def test_load_run_minimal_and_missing_extras(tmp_path):
    a = load_artefacts(_write(tmp_path / 'ok'), sources=None)
    assert len(a) == 12 and a.texts is None and a.images is None
    assert alignment_row(a)['n_images'] == 6                     # numbers need no extras
    with pytest.raises(DataError, match='neither image_feats nor pictures'): image_inputs(a)
    with pytest.raises(DataError, match='no text'):
        from medrat.text import Tokenizer
        report_tokens(a, Tokenizer(list(Tokenizer.specials)))
    with pytest.raises(DataError, match='no run folder'): planted_run().model()


def test_generated_reports_csv_is_hover_text(tmp_path):
    d = _write(tmp_path / 'run')
    (d / 'test_reports.csv').write_text('image_id,report\n0,the heart is normal .\n3,there is an effusion .\n')
    a = load_artefacts(d, sources=None)
    assert a.texts[0] == 'generated: the heart is normal .' and a.texts[3].startswith('generated: there')
    assert a.texts[1] is None and a.texts[6] is None


def test_training_format_roundtrip(tmp_path):
    "What medrat.experiments.save_embeddings writes, load_artefacts reads."
    from medrat.experiments import save_embeddings
    from medrat.testing import tiny_unpaired
    from medrat.model import MedRAT, MedRATConfig
    nih_like = np.ones(N_LABELS, bool); nih_like[[1, 12, 13]] = False
    images, reports, _, tok = tiny_unpaired(image_mask=nih_like)
    model = MedRAT(MedRATConfig.tiny(len(tok), pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id), tokenizer=tok)
    model.save(tmp_path / 'model.pth', tok)
    save_embeddings(model, images, reports, tok, tmp_path / 'embeddings.pt')
    a = load_artefacts(tmp_path, sources=None)
    assert len(a.idx('image')) == len(images) and len(a.idx('report')) == len(reports)
    assert not a.label_mask[a.idx('image')][:, 13].any()          # NIH-like mask survives
    row = alignment_row(a)
    assert 0 <= row['i2r_P@1'] <= 1 and np.isfinite(row['modality_gap'])
    m = a.model()
    a.image_feats = images.x.float()                                # the real run recomputes these from pictures
    hits = memory_usage(m, image_inputs(a), 'image')
    assert hits.shape == (len(images), m.cfg.mem_slots)
    assert torch.equal(torch.as_tensor(a.memory_usage['image']), torch.as_tensor(hits.sum(0)))   # what the run saved


def test_metric_argument_errors():
    z, y = np.random.randn(5, 4), np.zeros((5, N_LABELS))
    with pytest.raises(ValueError, match='label rows'): cross_modal_retrieval(z, y[:3], z, y)
    with pytest.raises(ValueError, match='shared space'): knn_label_accuracy(z, y, z[:, :2], y)
    with pytest.raises(ValueError, match='does not fit'): cross_modal_retrieval(z, y, z, y, mask=np.ones(3, bool))
    with pytest.raises(ValueError, match='same d'): modality_gap(z, z[:, :2])
    assert np.isnan(modality_gap(np.ones((3, 4)), np.ones((3, 4))))     # no spread: undefined, not a crash


def test_plot_and_save_errors(tmp_path, capsys):
    r = planted_run(n=20)
    with pytest.raises(ValueError, match=r'xy must be \(N, 2\)'): plot_embedding(r.z, r.modality, r.labels)
    with pytest.raises(ValueError, match='texts has 3 rows'): plot_embedding(pca_2d(r.z), r.modality, r.labels, texts=['a'] * 3)
    fig = plot_embedding(pca_2d(r.z), r.modality, r.labels)
    ok, why = png_export_available()
    out = save_figure(fig, tmp_path / 'x.html', tmp_path / 'x.png')
    if not ok: assert out['png'] is None and not (tmp_path / 'x.png').exists()     # said once per process, on stdout
    assert out['html'].exists()


def test_explorer_static_outside_jupyter():
    fig = explorer({'a': planted_run(n=20)}, method='pca')
    assert type(fig).__name__ == 'Figure'
    with pytest.raises(ValueError, match='no runs'): explorer({}, method='pca')


def test_memory_usage_errors():
    from medrat.model import MedRAT, MedRATConfig
    m = MedRAT(MedRATConfig.tiny(12))
    with pytest.raises(ValueError, match="modality='text'"): memory_usage(m, torch.zeros(2, 3, 16), 'text')
