"The learner and the main job: the multi-process (DDP, gloo on CPU) path, resume refusal, exact resume of train_experiment. The notebooks 08_learner and 10_experiments hold the rest."
import os, socket, tempfile
from pathlib import Path
import pytest, torch
import torch.distributed as dist
import torch.multiprocessing as mp

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _worker(rank, world, port, out, steps):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        from medrat.core import set_seed
        from medrat.model import MedRAT, MedRATConfig
        from medrat.testing import tiny_unpaired
        from medrat.batches import UnpairedLoader
        from medrat.learner import TrainConfig, fit_medrat
        from medrat.checkpoints import unwrap
        images, reports, pairs, tok = tiny_unpaired(n_img=16, n_rep=16, seed=0)
        set_seed(rank)                       # different initial weights per rank: DDP must broadcast rank 0's
        model = MedRAT(MedRATConfig.tiny(len(tok)))
        init = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        tdl = UnpairedLoader(images, reports, tok, bs=8, seed=1, rank=rank, world_size=world, epoch_len=8 * steps)
        vdl = UnpairedLoader(images, reports, tok, bs=8, shuffle=False, rank=rank, world_size=world)
        first = next(iter(tdl))[0]['x']       # this rank's share of the first global batch
        tdl.epoch = 0
        learn = fit_medrat(model, tdl, vdl, TrainConfig.tiny(lr=3e-3, epochs=1), Path(out) / f'run{rank}', ddp=True,
                           device='cpu', progress=False)
        params = torch.cat([p.detach().flatten() for p in unwrap(learn.model).model.parameters()])
        torch.save(dict(params=params, init=init, first=first, iters=learn.train_iter), Path(out) / f'rank{rank}.pt')
    finally: dist.destroy_process_group()

def test_ddp_two_gloo_ranks_stay_identical():
    "Two CPU processes (gloo) train a few steps of the tiny preset under DDP: parameters identical across ranks."
    steps = 3
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(_worker, args=(2, _free_port(), d, steps), nprocs=2, join=True)
        r0, r1 = (torch.load(Path(d) / f'rank{r}.pt') for r in (0, 1))
    assert r0['iters'] == r1['iters'] == steps
    assert not torch.equal(r0['init'], r1['init'])             # the ranks started from different weights ...
    assert not torch.equal(r0['first'], r1['first'])           # ... and saw different halves of every batch ...
    assert torch.equal(r0['params'], r1['params'])             # ... yet hold the same parameters (rank 0's start, averaged grads)
    assert not torch.equal(r0['params'], r0['init'])           # and training moved them

def test_resume_refuses_other_config(tmp_path):
    "Resuming into a folder that holds a run with another configuration is one clear error."
    from medrat.runs import check_resume_config
    import json
    (tmp_path / 'state.pth').write_bytes(b'x')
    (tmp_path / 'config.json').write_text(json.dumps(dict(train=dict(bs=32, epochs=8), seed=1)))
    check_resume_config(tmp_path, dict(train=dict(bs=32, epochs=12), seed=1))       # more epochs: fine
    with pytest.raises(ValueError, match=r"seed: 1 there, 2 now; train\.bs: 32 there, 16 now\).*--fresh"):
        check_resume_config(tmp_path, dict(train=dict(bs=16, epochs=8), seed=2))        # every difference is named

def test_train_experiment_resumes_and_leaves_its_files(tmp_path):
    "The main job on tiny settings: 1 epoch, then resumed to 2 = 2 epochs straight; all output files are there."
    from medrat.experiments import train_experiment
    kw = dict(preset='tiny', limit=8, cache_dir=tmp_path / 'cache', progress=False, n_boot=20)
    r1 = train_experiment(tmp_path / 'run', epochs=1, **kw)
    r2 = train_experiment(tmp_path / 'run', epochs=2, **kw)                 # resumed: only epoch 2 is trained
    assert [h['epoch'] for h in r2['history']] == [0, 1]
    assert r2['history'][0]['valid_loss'] == r1['history'][0]['valid_loss']  # the finished epoch is kept as it was
    assert len(r2['calls']) == 2 and r2['calls'][1]['wall_time_s']['features_were_cached']
    r3 = train_experiment(tmp_path / 'straight', epochs=2, **kw)
    a = torch.load(tmp_path / 'run' / 'state.pth', weights_only=True)['model']
    b = torch.load(tmp_path / 'straight' / 'state.pth', weights_only=True)['model']
    assert all(torch.equal(a[k], b[k]) for k in a)
    for f in ('model.pth', 'state.pth', 'vocab.json', 'config.json', 'results.json', 'results.md',
              'test_reports.csv', 'test_reports.json', 'embeddings.pt'):
        assert (tmp_path / 'run' / f).exists(), f
    e = torch.load(tmp_path / 'run' / 'embeddings.pt', weights_only=True)
    n_img, n_rep = r2['config']['data']['n_test_images'], r2['config']['data']['n_test_reports']
    assert e['z_global'].shape[0] == len(e['modality']) == n_img + n_rep
    assert e['modality'].count('image') == n_img
    assert set(r2['test']['NIH ChestX-ray14']) >= {'MedRAT (ours)', 'most frequent report', 'random report', 'classify-then-retrieve'}
    with pytest.raises(ValueError, match='another configuration'):
        train_experiment(tmp_path / 'run', epochs=2, **{**kw, 'bs': 4})

def test_channels_last_and_workers_fine_tuning(tmp_path):
    "TrainConfig(channels_last=True, workers=2): the CNN's convolutions train in channels-last format, batches come from workers."
    from dataclasses import replace
    from medrat.core import set_seed
    from medrat.model import MedRAT, MedRATConfig
    from medrat.testing import tiny_unpaired
    from medrat.batches import ImageSet, UnpairedLoader
    from medrat.features import image_augmentation
    from medrat.learner import TrainConfig, fit_medrat
    images, reports, _, tok = tiny_unpaired(n_img=16, n_rep=16)
    g = torch.Generator().manual_seed(0)
    pics = ImageSet(torch.rand(16, 1, 32, 32, generator=g), images.labels, images.mask, augment=image_augmentation(32))
    cfg = replace(TrainConfig.tiny(epochs=1), channels_last=True, workers=2)
    set_seed(0)
    model = MedRAT(MedRATConfig.tiny(len(tok), backbone='tiny', feat_dim=64), tokenizer=tok)
    learn = fit_medrat(model, UnpairedLoader(pics, reports, tok, bs=8, num_workers=cfg.workers),
                       UnpairedLoader(pics, reports, tok, bs=8, shuffle=False), cfg, tmp_path, device='cpu', progress=False)
    convs = [m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert learn.train_iter == 2


def test_resumed_run_relabels_its_epochs(tmp_path):
    "A resumed run's progress bar names each epoch it trains (the instantly skipped epochs must not freeze the label)."
    import io, contextlib, re
    from medrat.runs import run_medrat, RunData
    from medrat.learner import TrainConfig
    from medrat.testing import tiny_unpaired
    I, R, _, tok = tiny_unpaired(n_img=24, n_rep=40); Iv, Rv, _, _ = tiny_unpaired(n_img=8, n_rep=8, seed=1)
    d = RunData(tok, I, R, Iv, Rv, describe={})
    run_medrat(d, TrainConfig.tiny(epochs=12), tmp_path, seed=0, progress=False)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        run_medrat(d, TrainConfig.tiny(epochs=16), tmp_path, seed=0, progress=True)
    assert {'15', '16'} <= set(re.findall(r'Epoch (\d+)/16', buf.getvalue()))
