"Failure cases of medrat.features and medrat.encoder: offline pretrained weights, bad inputs, damaged feature caches."
import time
import pytest
import torch
import torch.nn as nn
from medrat.core import DataError
from medrat.features import ImageBackbone, PretrainedWeightsError, backbone_from_gray, cached_features
from medrat.encoder import ImageFeatureExtractor, ReportFeatureExtractor, TransformerEncoder, MultiHeadSelfAttention
from medrat.testing import offline_hub


@pytest.mark.parametrize('name, fname', [('resnet18', 'resnet18-f37072fd.pth'), ('resnet50', 'resnet50-0676ba61.pth')])
def test_pretrained_resnet_offline_fails_clearly_and_fast(name, fname):
    with offline_hub() as hub_dir:
        t0 = time.perf_counter()
        with pytest.raises(PretrainedWeightsError) as e:
            ImageBackbone(name, pretrained=True)
        assert time.perf_counter() - t0 < 30
    msg = str(e.value)
    assert f"ImageBackbone('{name}', pretrained=True)" in msg
    assert str(hub_dir / 'checkpoints' / fname) in msg          # where to place the file
    assert f'https://download.pytorch.org/models/{fname}' in msg  # what to download
    assert 'efficientnet_lite0' in msg                           # the offline alternative


def test_corrupt_cached_weights_fail_clearly(tmp_path):
    with offline_hub(tmp_path) as hub_dir:
        (hub_dir / 'checkpoints').mkdir(parents=True)
        (hub_dir / 'checkpoints' / 'resnet18-f37072fd.pth').write_bytes(b'not a checkpoint')
        with pytest.raises(PretrainedWeightsError, match='could not be found or downloaded'):
            ImageBackbone('resnet18', pretrained=True)


def test_offline_hub_restores_hub_dir():
    before = torch.hub.get_dir()
    with offline_hub(): assert torch.hub.get_dir() != before
    assert torch.hub.get_dir() == before


def test_bad_backbone_arguments():
    with pytest.raises(ValueError, match="unknown name='vgg16'"): ImageBackbone('vgg16')
    with pytest.raises(ValueError, match='no pretrained'): ImageBackbone('tiny', pretrained=True)


def test_bad_images():
    bb = ImageBackbone('tiny')
    with pytest.raises(ValueError, match=r'\[0, 1\]'): bb(torch.rand(1, 3, 32, 32) * 255)
    with pytest.raises(ValueError, match='uint8'): bb(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match='got shape'): bb(torch.rand(1, 4, 32, 32))
    with pytest.raises(ValueError, match='got shape'): backbone_from_gray(torch.rand(32, 32))


def test_cached_features_restore_mode_and_frozen_backbone_has_no_grad():
    bb = ImageBackbone('tiny').train()
    cached_features(torch.rand(3, 32, 32), bb, k=1, size=32, batch_size=2, progress=False)
    assert bb.training
    bb.freeze(); bb.train()
    assert not bb.training and not any(p.requires_grad for p in bb.parameters())


def test_damaged_feature_cache_is_named_and_rebuilt(tmp_path):
    bb = ImageBackbone('tiny').freeze()
    imgs = torch.rand(3, 32, 32)
    c = cached_features(imgs, bb, k=1, size=32, cache_dir=tmp_path, progress=False)
    c['path'].write_bytes(c['path'].read_bytes()[:100])                   # truncated, as by a full disk
    with pytest.warns(UserWarning, match=rf"{c['path'].name}: not a medrat file \(or damaged\): the file is cut short; rebuilding it"):
        d = cached_features(imgs, bb, k=1, size=32, cache_dir=tmp_path, progress=False)
    assert not d['cached'] and torch.equal(d['orig'], c['orig'])
    assert cached_features(imgs, bb, k=1, size=32, cache_dir=tmp_path, progress=False)['cached']
    assert not [p for p in tmp_path.iterdir() if '.tmp' in p.name]         # nothing half-written left behind


def test_shape_errors():
    with pytest.raises(ValueError, match=r'\(B, n, 64\)'): ImageFeatureExtractor(64, 16)(torch.zeros(2, 3, 32))
    emb = nn.Embedding(10, 16)
    with pytest.raises(ValueError, match='width 16'): ReportFeatureExtractor(emb, 32)
    with pytest.raises(ValueError, match=r'tokens \(B, T\)'): ReportFeatureExtractor(emb)(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match='not divisible'): MultiHeadSelfAttention(30, 8)
    with pytest.raises(ValueError, match='does not match'):
        TransformerEncoder(1, 16, 4, 16)(torch.zeros(2, 5, 16), torch.ones(2, 4, dtype=torch.bool))


def test_report_only_bos_eos_gives_finite_output():
    emb = nn.Embedding(10, 16)
    fx, enc = ReportFeatureExtractor(emb, pad_id=0, eos_id=2).eval(), TransformerEncoder(2, 16, 4, 16).eval()
    x, m = fx(torch.tensor([[1, 2, 0, 0]]))
    assert m.tolist() == [[True, False, False, False]]
    assert torch.isfinite(enc(x, m)).all()
