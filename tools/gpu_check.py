#!/usr/bin/env python
"""What only a GPU shows, in one prepared run of about 10 minutes:

    python tools/gpu_check.py [--out runs/gpu-check] [--minutes 10]
    python tools/gpu_check.py --tiny        # the same steps on a CPU in about two minutes (what the tests run)

1. The paper preset (fine-tuned ResNet-101, 224 px, bf16, channels-last) on generated copies of the CheXpert and
   MIMIC-CXR layouts (`medrat.testing.fake_chexpert`, `fake_mimic`): killed with SIGKILL right after its first
   mid-epoch resume state, then run again with the same command, which must resume there and finish.
2. The benchmark's `large` scale once (the full model).
3. As many seeds of the `small` benchmark (the full model) as the remaining time allows, kept like the published runs.

It prints images per second for each step and writes OUT/gpu_check.json; each run leaves its own results.json.
Nothing is downloaded: where torchvision's ImageNet weights for ResNet-101 are not in the torch hub cache, the CNN
starts from random weights and the JSON says so (a speed and plumbing check; its scores mean nothing).
`--tiny` uses the tiny presets and scales, so that every step runs on a CPU.
"""
from __future__ import annotations
import json, os, signal, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve()


def allow_random_weights():
    "ImageNet ResNet weights from the torch hub cache as usual; where they are not at hand, random ones, said aloud."
    import medrat.features as F
    real = F.torchvision_imagenet_state_dict
    def weights(name, timeout=5.):
        try: return real(name, timeout)
        except F.PretrainedWeightsError:
            import torchvision
            print(f"gpu_check: no ImageNet weights for {name} here: random weights (speed and plumbing only)", flush=True)
            return getattr(torchvision.models, name)(weights=None).state_dict()
    F.torchvision_imagenet_state_dict = weights

def child(argv):
    "Run `medrat ARGV` in this process, with random ResNet weights where the ImageNet ones are not at hand."
    allow_random_weights()
    from medrat.cli import main
    main(argv)


def run(argv, log: Path, kill_when=None) -> dict:
    "Run `medrat ARGV` as a child process; with `kill_when`, SIGKILL it as soon as kill_when() is true."
    t0 = time.time()
    with open(log, 'a') as f:
        p = subprocess.Popen([sys.executable, str(HERE), '--child', *argv], stdout=f, stderr=subprocess.STDOUT)
        killed = False
        while p.poll() is None:
            if kill_when and kill_when():
                p.send_signal(signal.SIGKILL); p.wait(); killed = True; break
            time.sleep(0.2)
    if not killed and p.returncode: sys.exit(f"gpu_check: medrat {' '.join(argv)} failed (exit {p.returncode}); see {log}")
    return dict(seconds=time.time() - t0, killed=killed, returncode=p.returncode)


def mid_epoch_state(run_dir: Path):
    "True once run_dir/state.pth holds a mid-epoch resume state (a 'batch' key)."
    f = run_dir / 'state.pth'
    if not f.exists(): return False
    try:
        import torch
        return bool(torch.load(f, weights_only=True, map_location='cpu').get('batch'))
    except Exception: return False                                  # being written


def images_per_second(res: dict, n_images: int) -> float | None:
    "Training images per second of a finished run: epochs run x training images / the seconds of those epochs (all calls)."
    t = sum(h.get('seconds', 0) for h in res.get('history', []))    # wall_time_s.training is the last call's only
    return n_images * res['selection']['epochs_run'] / t if t else None


def main(args):
    tiny = '--tiny' in args
    out = Path(args[args.index('--out') + 1] if '--out' in args else 'runs/gpu-check')
    minutes = float(args[args.index('--minutes') + 1]) if '--minutes' in args else (3 if tiny else 10)
    out.mkdir(parents=True, exist_ok=True)
    log, t_start = out / 'gpu_check.log', time.time()
    os.environ.setdefault('MEDRAT_CACHE', str(out / 'cache'))
    import torch, warnings
    from medrat.testing import fake_chexpert, fake_mimic
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'
    report = dict(device=dev, torch=torch.__version__, tiny=tiny, steps={})
    print(f"gpu_check on {dev}: {out}")

    data = out / 'data'                                            # 1. the paper preset, killed and resumed
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        csv = fake_chexpert(data / 'CheXpert-v1.0-small', n=48 if tiny else 512) if not (data / 'CheXpert-v1.0-small').exists() \
            else data / 'CheXpert-v1.0-small' / 'train.csv'
        mimic = fake_mimic(data / 'mimic', n_studies=48 if tiny else 256) if not (data / 'mimic').exists() else data / 'mimic'
    paper = out / 'paper'
    argv = ['train', '--images', f'chexpert:{csv}', '--reports', f'mimic:{mimic}', '--test', f'mimic:{mimic}', '--out', str(paper),
            '--preset', 'tiny' if tiny else 'paper', '--amp', 'bf16', '--save_every', '2', '--quiet', '--fresh']
    if not tiny: argv.append('--channels_last')
    if tiny: argv += ['--epochs', '2']
    first = run(argv, log, kill_when=lambda: mid_epoch_state(paper))
    if not first['killed']: sys.exit(f"gpu_check: the paper run ended before its first mid-epoch state; see {log}")
    second = run([a for a in argv if a != '--fresh'], log)
    res = json.loads((paper / 'results.json').read_text())
    resumed = 'resuming from epoch' in log.read_text()
    ips = images_per_second(res, res['config']['data']['n_train_images'])
    report['steps']['paper'] = dict(killed_after_seconds=first['seconds'], resumed=resumed, seconds=second['seconds'],
                                    images_per_second=ips, results=str(paper / 'results.json'),
                                    imagenet_weights='random' if 'random weights' in log.read_text() else 'ImageNet')
    print(f"paper preset: killed mid-epoch after {first['seconds']:.0f} s, resumed: {resumed}, {ips or 0:.1f} training images/s")
    if not resumed: sys.exit(f"gpu_check: the second call did not resume; see {log}")

    large = out / 'large'                                          # 2. the benchmark's large scale once
    r = run(['benchmark', '--scale', 'tiny' if tiny else 'large', '--configs', 'MedRAT (full)', '--out', str(large), '--fresh'], log)
    lres = json.loads((large / 'results.json').read_text())
    st = lres['settings']; c = lres['configs']['MedRAT (full)']
    lips = st['n_images'] * len(c['history']) / max(1e-9, sum(h['seconds'] for h in c['history']))
    report['steps']['large'] = dict(seconds=r['seconds'], steps=c['steps'], images_per_second=lips, results=str(large / 'results.json'))
    print(f"benchmark {'tiny' if tiny else 'large'}: {r['seconds']:.0f} s, {c['steps']} steps")

    seeds, kept = [], out / 'kept'                                 # 3. small-scale seeds while time remains
    last = None
    for s in range(100):
        left = minutes * 60 - (time.time() - t_start)
        if left <= 0 or (last and left < last) or (tiny and len(seeds) == 2): break
        r = run(['benchmark', '--scale', 'tiny' if tiny else 'small', '--configs', 'MedRAT (full)', '--seed', str(s),
                 '--out', str(out / 'small' / f'seed-{s}'), '--keep', str(kept), '--fresh'], log)
        last = r['seconds']; seeds.append(dict(seed=s, seconds=r['seconds']))
        print(f"small seed {s}: {r['seconds']:.0f} s")
    report['steps']['small'] = dict(seeds=seeds, kept=str(kept))
    report['seconds'] = time.time() - t_start
    (out / 'gpu_check.json').write_text(json.dumps(report, indent=1))
    print(f"wrote {out / 'gpu_check.json'} ({report['seconds']:.0f} s)")
    return report


if __name__ == '__main__':
    if sys.argv[1:2] == ['--child']: child(sys.argv[2:])
    else: main(sys.argv[1:])
