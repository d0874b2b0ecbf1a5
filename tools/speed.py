"""How fast is a training step and a decoded report, per preset, on this hardware?

    python tools/speed.py                       # tiny, cpu and paper presets on the default device
    python tools/speed.py --presets cpu --steps 5 --batch 32
    python tools/speed.py --presets benchmark --profile   # the benchmark's model (d 64), its operators by time

For each preset ('benchmark': the model of the benchmark's `small` scale) it prints: ms per training step over cached features (forward + backward + Adam, N images + N
reports), ms per step with the trainable backbone (pictures through the CNN, fine-tuning), ms per decoded image
(greedy and beam 3, 100 tokens), the peak memory of the process (CUDA: allocated; CPU: resident set), and the achieved
GFLOP/s of the cached-feature step (FLOPs counted by torch's FlopCounterMode) beside a plain matmul timed in the same
run, so the ratio says how much of the machine the step uses. Speeds are only comparable within one run.
"""
import argparse, resource, time
import torch
from torch.utils.flop_counter import FlopCounterMode
from medrat.core import default_device
from medrat.model import MedRAT, MedRATConfig
from medrat.learner import TrainConfig, medrat_opt
from medrat.features import FEATURE_DIMS
from medrat.benchmark import SCALES

def peak_mb(dev) -> float:
    if dev.type == 'cuda': return torch.cuda.max_memory_allocated(dev) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10          # Linux: kB

def timed(fn, steps: int, dev) -> float:
    "Mean seconds of fn() over `steps` calls after one warm-up call."
    fn()
    if dev.type == 'cuda': torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(steps): fn()
    if dev.type == 'cuda': torch.cuda.synchronize(dev)
    return (time.perf_counter() - t0) / steps

def matmul_gflops(dev, n: int = 1024, steps: int = 10) -> float:
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    return 2 * n ** 3 / timed(lambda: a @ b, steps, dev) / 1e9

def batch(cfg: MedRATConfig, bs: int, n_patches: int, T: int, dev, pictures: int | None = None):
    "Random inputs of the preset's shapes: features (or pictures), token ids, labels."
    x = (torch.rand(bs, 1, pictures, pictures, device=dev) if pictures else torch.randn(bs, n_patches, cfg.feat_dim, device=dev))
    tok = torch.randint(3, cfg.vocab_size, (bs, T), device=dev); tok[:, 0] = cfg.bos_id; tok[:, -1] = cfg.eos_id
    y = (torch.rand(bs, cfg.n_labels, device=dev) < .2).float()
    return x, tok, y

def step_fn(model, opt, x, tok, y):
    def step():
        out = model(x, tok, x_aug=x, tokens_aug=tok)
        loss, _ = model.loss(out, tok, y, y)
        opt.zero_grad(); loss.backward(); opt.step()
    return step

def setting(name: str) -> tuple:
    "(backbone, picture side, learning rate, model preset, its overrides) of a `TrainConfig` preset or of 'benchmark' (its `small` scale)."
    if name == 'benchmark':
        s = SCALES['small']
        return s.backbone, s.img_size, s.lr, s.model, s.model_kw
    tc = getattr(TrainConfig, name)()
    return tc.backbone, tc.img_size, tc.lr, tc.model_preset, {}

def profile_step(name: str, bs: int, dev, vocab: int = 1000, T: int = 60, rows: int = 15) -> str:
    "The operators of one preset's training step over cached features, by their own time over 5 steps (torch.profiler)."
    backbone, size, lr, model_preset, kw = setting(name)
    mc = getattr(MedRATConfig, model_preset)(vocab, backbone=None, feat_dim=FEATURE_DIMS[backbone], max_len=100, **kw)
    torch.manual_seed(0)
    model = MedRAT(mc).to(dev).train()
    step = step_fn(model, medrat_opt(list(model.parameters()), lr=lr), *batch(mc, bs, (-(-size // 32)) ** 2, T, dev))
    for _ in range(2): step()
    with torch.profiler.profile(record_shapes=True) as prof:
        for _ in range(5): step()
    return prof.key_averages(group_by_input_shape=True).table(sort_by='self_cpu_time_total', row_limit=rows)

def preset(name: str, bs: int, steps: int, dev, vocab: int = 1000, T: int = 60) -> dict:
    backbone, size, lr, model_preset, kw = setting(name)
    n_patches = (-(-size // 32)) ** 2
    mc = getattr(MedRATConfig, model_preset)(vocab, backbone=None, feat_dim=FEATURE_DIMS[backbone], max_len=100, **kw)
    torch.manual_seed(0)
    model = MedRAT(mc).to(dev).train()
    opt = medrat_opt(list(model.parameters()), lr=lr)
    x, tok, y = batch(mc, bs, n_patches, T, dev)
    step = step_fn(model, opt, x, tok, y)
    with FlopCounterMode(display=False) as fc: step()
    flops = fc.get_total_flops()
    t_step = timed(step, steps, dev)
    res = dict(preset=name, batch=bs, patches=n_patches, step_ms=1e3 * t_step, step_gflops=flops / t_step / 1e9)
    model.eval()
    model.cfg.eos_id = vocab                 # an id the decoder never writes: every report runs the full 100 tokens
    xs = x[:4]
    res['greedy_ms_per_image'] = 1e3 * timed(lambda: model.generate(xs, beam_size=1, max_len=100), 1, dev) / len(xs)
    res['beam3_ms_per_image'] = 1e3 * timed(lambda: model.generate(xs, beam_size=3, max_len=100), 1, dev) / len(xs)
    # the trainable backbone: pictures through the CNN (the paper's fine-tuning), a small batch
    bb_bs = min(bs, 4 if dev.type == 'cpu' else bs)
    mb = MedRAT(getattr(MedRATConfig, model_preset)(vocab, backbone=backbone, pretrained=False, feat_dim=FEATURE_DIMS[backbone],
                                                     max_len=100, **kw)).to(dev).train()
    xb, tb, yb = batch(mb.cfg, bb_bs, n_patches, T, dev, pictures=size)
    ob = medrat_opt(list(mb.parameters()), lr=lr)
    res['backbone'] = backbone; res['backbone_batch'] = bb_bs
    res['backbone_step_ms'] = 1e3 * timed(step_fn(mb, ob, xb, tb, yb), max(1, steps // 2), dev)
    res['peak_mb'] = peak_mb(dev)
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False)
    p.add_argument('--presets', default='tiny,cpu,benchmark,paper', help="TrainConfig presets, or 'benchmark' (its small scale's model)")
    p.add_argument('--profile', action='store_true', help="also print each preset's operators by their own time (torch.profiler)"); p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=3); p.add_argument('--device', default=None)
    a = p.parse_args()
    dev = torch.device(a.device) if a.device else default_device()
    mm = matmul_gflops(dev)
    print(f'device {dev}, torch threads {torch.get_num_threads()}; a 1024 x 1024 matmul runs at {mm:.1f} GFLOP/s')
    cols = ['preset', 'batch', 'patches', 'step_ms', 'step_gflops', 'greedy_ms_per_image', 'beam3_ms_per_image',
            'backbone', 'backbone_batch', 'backbone_step_ms', 'peak_mb']
    print('| ' + ' | '.join(cols) + ' | share of matmul rate |')
    print('|' + '---|' * (len(cols) + 1))
    for name in a.presets.split(','):
        r = preset(name.strip(), a.batch, a.steps, dev)
        print('| ' + ' | '.join(f'{r[c]:.1f}' if isinstance(r[c], float) else str(r[c]) for c in cols)
              + f' | {r["step_gflops"] / mm:.0%} |', flush=True)
    if a.profile:
        for name in a.presets.split(','): print(f'\n{name.strip()}: one training step (batch {a.batch}) by operator\n' + profile_step(name.strip(), a.batch, dev))
