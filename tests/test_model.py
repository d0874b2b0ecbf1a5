"Edge and failure cases of medrat.decoder and medrat.model that the notebooks do not hold."
import math
import pytest
import torch
import torch.nn as nn
from medrat.core import DataError
from medrat.decoder import Decoder, local_augment
from medrat.model import MedRAT, MedRATConfig
from medrat.testing import tiny_batch

torch.set_num_threads(1)
V, D = 12, 16


@pytest.fixture
def dec():
    torch.manual_seed(0)
    return Decoder(nn.Embedding(V, D, padding_idx=0), V, d_model=D, n_heads=2, d_ff=16, max_len=5).eval()


def test_decoder_rejects_mismatched_embedding():
    with pytest.raises(ValueError, match='embedding has dim 8'):
        Decoder(nn.Embedding(V, 8), V, d_model=D, n_heads=2)
    with pytest.raises(ValueError, match='not divisible'):
        Decoder(nn.Embedding(V, D), V, d_model=D, n_heads=3)


def test_inputs_longer_than_max_len_extend_positions(dec):
    toks = torch.randint(3, V, (2, 20)); toks[:, 0] = 1
    lp = dec(toks, torch.randn(2, D), torch.randn(2, 3, D), None)
    assert lp.shape == (2, 20, V) and torch.isfinite(lp).all()
    # the first rows are unchanged by the extension (causality + same positions)
    torch.testing.assert_close(dec(toks[:, :4], torch.zeros(2, D), torch.zeros(2, 3, D), None),
                               dec(toks, torch.zeros(2, D), torch.zeros(2, 3, D), None)[:, :4], atol=1e-5, rtol=0)


def test_beam_wider_than_vocabulary(dec):
    zg, zl = torch.randn(3, D), torch.randn(3, 4, D)
    seqs, scores = dec.beam_search(zg, zl, None, 1, 2, beam_size=20, return_scores=True)
    assert len(seqs) == 3 and all(len(s) <= 5 for s in seqs) and all(math.isfinite(s) for s in scores)
    assert all(w not in (0, 1, 2) for s in seqs for w in s)


def test_max_len_zero_gives_empty(dec):
    zg = torch.randn(2, D)
    assert dec.greedy(zg, None, None, 1, 2, max_len=0) == [[], []]
    assert dec.beam_search(zg, None, None, 1, 2, max_len=0) == [[], []]


def test_local_augment_noise_keeps_dtype():
    z = torch.randn(2, 3, 4, dtype=torch.float64)
    z2, m2 = local_augment(z, torch.ones(2, 3, dtype=torch.bool), 'noise', sigma=0.)
    assert z2.dtype == torch.float64 and torch.equal(z2, z)


def test_model_errors_name_the_problem(tmp_path):
    cfg = MedRATConfig.tiny(20)
    b = tiny_batch(cfg, B=2)
    m = MedRAT(cfg)
    out = m(b['x'], b['tokens'], b['x_aug'], b['tokens_aug'])
    with pytest.raises(ValueError, match='z_img is present but its labels are None'):
        m.loss(out, b['tokens'], None, b['rep_labels'])
    with pytest.raises(ValueError, match='backbone=None'):
        tiny_batch(MedRATConfig.tiny(20, backbone='tiny', feat_dim=64))
    # a checkpoint whose config has a field this version does not know
    p = m.save(tmp_path / 'm.pt')
    ck = torch.load(p, weights_only=True); ck['config']['not_a_field'] = 1; torch.save(ck, tmp_path / 'bad.pt')
    with pytest.raises(DataError, match='bad.pt'):
        MedRAT.load(tmp_path / 'bad.pt')


def test_checkpoint_without_tokenizer_and_generate_restores_mode(tmp_path):
    torch.manual_seed(0)
    cfg = MedRATConfig.tiny(20, aug='noise', use_memory=False)
    m = MedRAT(cfg).train()
    b = tiny_batch(cfg, B=3)
    m2 = MedRAT.load(m.save(tmp_path / 'x.pt'))
    assert m2.tokenizer is None and m2.cfg == cfg and m2.memory is None
    assert m2.generate(b['x'], max_len=4) == m.generate(b['x'], max_len=4)
    assert m.training  # generate put it back
    with pytest.raises(ValueError, match='no tokenizer'):
        m.generate(b['x'], return_text=True)
    assert m.training


def test_reports_only_forward():
    cfg = MedRATConfig.tiny(20)
    b = tiny_batch(cfg, B=4)
    m = MedRAT(cfg)
    out = m(None, b['tokens'], None, b['tokens_aug'])
    assert out['z_img'] is None and out['cls_img'] is None
    total, parts = m.loss(out, b['tokens'], None, b['rep_labels'])
    assert torch.isfinite(total) and parts['contrast'] > 0


def test_dec_global_scale_checkpoints_and_old_checkpoints(tmp_path):
    "The switch survives save/load; a checkpoint written before the field existed loads with the old behaviour (1.0)."
    torch.manual_seed(0)
    cfg = MedRATConfig.tiny(20, dec_global_scale=math.sqrt(32))
    m = MedRAT(cfg).eval()
    b = tiny_batch(cfg, B=3)
    m2 = MedRAT.load(m.save(tmp_path / 's.pt'))
    assert m2.cfg.dec_global_scale == pytest.approx(math.sqrt(cfg.d_model)) and m2.global_scale == pytest.approx(math.sqrt(cfg.d_model))
    assert m2.generate(b['x'], max_len=4) == m.generate(b['x'], max_len=4)
    ck = torch.load(tmp_path / 's.pt', weights_only=True)
    del ck['config']['dec_global_scale']; torch.save(ck, tmp_path / 'old.pt')
    old = MedRAT.load(tmp_path / 'old.pt')
    assert old.cfg.dec_global_scale == 1.0 and old.global_scale == 1.0
    enc = old.encode_report(b['tokens'])
    assert torch.equal(old.decoder_inputs(enc)[0], enc.z_global)
    for bad in ('sqrt', -1.0, True):
        with pytest.raises(ValueError, match='dec_global_scale'):
            MedRATConfig.tiny(20, dec_global_scale=bad)
