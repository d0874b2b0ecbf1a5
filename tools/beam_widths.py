#!/usr/bin/env python
"""What the beam width and GNMT's length penalty do to a trained run's test reports (the NIH test images of a
`medrat train` run): words per report, empty reports, distinct reports and CE macro-F1 against the NIH labels.

    python tools/beam_widths.py runs/nih-iu [--beams 1,3,5,10,20,50] [--alphas 0,0.6,1]

It reads the run's checkpoint and the cached features; it trains nothing.
"""
import sys
import numpy as np
from medrat.cli import load_run
from medrat.learner import TrainConfig, generate_reports
from medrat.experiments import prepare_nih_iu
from medrat.evaluation import evaluate_reports
from medrat.labeler import label_texts

def arg(name, default):
    return [float(x) for x in sys.argv[sys.argv.index(name) + 1].split(',')] if name in sys.argv else default

if __name__ == '__main__':
    run = load_run(sys.argv[1]); c = run['config']
    cfg = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in c['train'].items()})
    data = prepare_nih_iu(cfg, c.get('seed', 9153), None, progress=False, limit=c.get('limit'))
    test = data.images['test']
    x, y, m = test.x, test.labels.numpy(), test.mask.numpy()
    print(f"| beam | alpha | words per report | empty | distinct | CE macro-F1 |\n|---:|---:|---:|---:|---:|---:|")
    for beam in arg('--beams', [1, 3, 5, 10, 20, 50]):
        for alpha in (arg('--alphas', [0., 0.6, 1.]) if beam > 1 else [0.]):
            hyps = generate_reports(run['model'], x, run['tokenizer'], bs=32, beam_size=int(beam), length_penalty=alpha)
            ce = evaluate_reports(hyps, true_labels=y, mask=m, hyp_labels=label_texts(hyps), n_boot=200, seed=0)['ce']['macro']
            print(f"| {int(beam)} | {alpha:g} | {np.mean([len(h.split()) for h in hyps]):.1f} | {sum(not h.strip() for h in hyps)} "
                  f"| {len(set(hyps))} | {ce:.3f} |", flush=True)
