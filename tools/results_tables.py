#!/usr/bin/env python
"""Write results/*.md and results/figures/*.png from run outputs (tables are never typed by hand), then README.md:

    python tools/results_tables.py [runs/nih-iu] [runs/synth] [runs/synth-seeds] [runs/synth-long] [runs/synth-lr]
    python tools/make_readme.py

results/nih-iu.md comes from a `medrat train` run's results.json (and its figures: learning curves, the shared-space
maps and attention overlays that `medrat.probes.analyse_run` draws, made here when the run has none yet);
results/synth-benchmark.md from `medrat.benchmark.run_benchmark`'s results.json (through `results_markdown`, every
configuration at one seed) and the full model's runs at other seeds (runs/synth-seeds/seed-S); results/synth-long.md
from the full model trained for a longer budget at several seeds (runs/synth-long/seed-S, `medrat benchmark --seeds 3
--epochs N`) and from runs of other learning rates (runs/synth-lr/*). results/headline/<part>.md holds each part's
sentences and the paper's claims (`medrat.comparisons.paper_claims`), from the same files; a part whose runs are
absent keeps the files it wrote before.
"""
import json, math, shutil, sys
from pathlib import Path
import pandas as pd
from medrat.core import markdown_table

root = Path(__file__).resolve().parents[1]
FIG = root / 'results' / 'figures'

def f3(x): return 'n/a' if x is None else f'{x:.3f}'
def ci(d, k='f1'): return f"{f3(d[k])} ({f3(d[k + '_lo'])}–{f3(d[k + '_hi'])})"

def verdict(a: dict, b: dict, k: str = 'f1') -> str:
    "Compare two metrics with 95% intervals: a difference counts only when the intervals are disjoint."
    if a[k + '_lo'] > b[k + '_hi']: return 'is above'
    if a[k + '_hi'] < b[k + '_lo']: return 'is below'
    return 'is not distinguishable from'

def steps(r: dict) -> int:
    "Optimiser steps of a run (recorded by the run; older runs: epochs x steps per epoch)."
    sel, cfg = r['selection'], r['config']
    if sel.get('steps') is not None: return sel['steps']
    n = cfg['data']['n_train_images'] if cfg['train']['epoch_len'] == 'images' else max(cfg['data']['n_train_images'], cfg['data']['n_train_reports'])
    return sel['epochs_run'] * -(-n // cfg['train']['bs'])

def nih_figures(run: Path) -> list:
    "The run's figures, copied to results/figures/ (drawn first when the run has none): [(caption, file name)]."
    figs = run / 'figures'
    if not (figs / 'map_modality_static.png').exists():
        from medrat.alignment import load_artefacts
        from medrat.probes import analyse_run
        analyse_run(load_artefacts(run, 'NIH -> IU'), fig_dir=figs, projection='umap')
    FIG.mkdir(parents=True, exist_ok=True)
    out = []
    for src, dest, cap in [(run / 'learning_curves.png', 'nih-iu-learning-curves.png', 'learning curves'),
                           (figs / 'map_modality_static.png', 'nih-iu-umap-modality.png', 'UMAP of the test images and reports, by modality'),
                           *[(p, f'nih-iu-umap-{p.stem[4:-7]}.png', f'UMAP coloured by {p.stem[4:-7]}')
                             for p in sorted(figs.glob('map_*_static.png')) if p.stem != 'map_modality_static'][:1],
                           (figs / 'attention_0.png', 'nih-iu-attention.png', 'decoder cross-attention on a test image')]:
        if src.exists(): shutil.copy(src, FIG / dest); out.append((cap, dest))
    return out

def nih_iu(run: Path) -> tuple[str, str]:
    r = json.loads((run / 'results.json').read_text())
    cfg, sel, m = r['config'], r['selection'], r['machine']
    ce = lambda k: r['metrics'][k]['ce']['macro']
    ours, ctr, mf = ce('MedRAT (ours)'), ce('classify-then-retrieve'), ce('most frequent report')
    reports = pd.read_csv(run / 'test_reports.csv').report
    top = reports.value_counts().iloc[0]
    total = sum(c['wall_time_s']['total_this_call'] for c in r.get('calls', [])) or r['wall_time_s']['total_this_call']
    n_steps = steps(r)
    from medrat.learner import convergence
    conv = sel.get('convergence') or convergence(r['history'], sel['monitor'])
    verdict_conv = (f"past its best (the selection score last improved at epoch {conv['best_epoch']} of {conv['epochs_run']})"
                    if conv['converged'] else f"NOT converged (the selection score was still improving at epoch {conv['best_epoch']} "
                    f"of {conv['epochs_run']})")
    e2 = r.get('experiment2_language_ceiling')
    health = e2['ce'] if e2 and 'ce' in e2 else None
    L = ["### Experiment 1: NIH ChestX-ray14 sample images -> IU X-ray reports, zero pairs (real data)", "",
         f"`medrat train` (preset `{cfg['preset']}`, seed {cfg['seed']}): {cfg['data']['n_train_images']} train images, "
         f"{cfg['data']['n_train_reports']} train reports, no pair; {cfg['model']['d_model']}-d model, "
         f"{r['n_params']:,} parameters over frozen {cfg['train']['backbone']} features "
         f"({cfg['train']['img_size']} px, {cfg['data']['n_patches']} patches). {sel['epochs_run']} epochs, {n_steps:,} optimiser "
         f"steps; selected epoch {sel['best_epoch']} on {sel['monitor']}. Wall time {total / 60:.1f} min on "
         f"{m.get('cpu_model', m['processor'])} ({m['cpu_count']} cores, {m['torch_threads']} torch thread(s)). "
         "Clinical efficacy (CE) of the reports written for the 197 patient-disjoint NIH test images, labelled by "
         "`medrat.labeler`, against NIH's labels on the 11 classes NIH defines; 95% bootstrap intervals.", "",
         r['table'].strip(), "",
         f"MedRAT {verdict(ours, ctr)} classify-then-retrieve on CE macro-F1 ({f3(ours['f1'])} vs {f3(ctr['f1'])}). "
         f"It wrote {reports.nunique()} distinct reports for {len(reports)} images "
         f"(the most common one {top} times). The run is {verdict_conv}."
         + (f" Decoder health (the IU test reports auto-encoded, scored against their own labels): CE micro-F1 "
            f"{ci(health['micro'])}, macro-F1 {ci(health['macro'])}." if health else ''), ""]
    figs = nih_figures(run)
    if figs: L += [' '.join(f'![{cap}](results/figures/{f})' for cap, f in figs), ""]
    if e2:
        keys = [k for k in ('BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR', 'ROUGE-L', 'CIDEr') if k in e2['nlg']]
        L += ["### Experiment 2: the language side alone (IU X-ray test reports auto-encoded)", "",
              f"{e2['n']} IU X-ray test reports encoded and decoded again by the same model (greedy): the ceiling the image "
              "path can reach with this decoder.", "",
              markdown_table(keys, [[f3(e2['nlg'][k]) for k in keys]]).replace('|---|', '|---:|', 1), ""]
    head = (f"**Real data (experiment 1):** after {n_steps:,} optimiser steps (the released code trains about 100,000), MedRAT's "
            f"reports for the NIH test images reach CE macro-F1 {ci(ours)}, which {verdict(ours, ctr)} classify-then-retrieve "
            f"({ci(ctr)}) and {verdict(ours, mf)} the most frequent training report ({ci(mf)}); it wrote "
            f"{reports.nunique()} distinct reports for {len(reports)} images"
            + f"; the run is {'past its best' if conv['converged'] else 'NOT converged'}"
            + (f" and its decoder writes back only part of what it is given (CE micro-F1 {f3(health['micro']['f1'])}, macro-F1 "
               f"{f3(health['macro']['f1'])} against the given reports' own labels), so this run says little about the method"
               if health and (health['micro']['f1'] < .85 or health['macro']['f1'] < .5) else '') + '.')
    return '\n'.join(L), head

def curves_figure(lines: list, per_epoch: int, title: str, name: str) -> str:
    "Validation language loss and selection score per epoch, one line per (label, history, line style); saved as results/figures/NAME."
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for label, hist, ls in lines:
        ep = [h['epoch'] for h in hist]
        for ax, k in zip(axes, ('valid_lang', 'valid_ce_f1')): ax.plot(ep, [h.get(k) for h in hist], ls, lw=1.2, label=label)
    axes[0].set_ylabel('validation language loss (nats/token)'); axes[1].set_ylabel('selection score: CE macro-F1 (validation)')
    for ax in axes: ax.set_xlabel(f"epoch ({per_epoch} steps each)")
    axes[1].legend(fontsize=6 if len(lines) > 6 else 7, ncol=2 if len(lines) > 6 else 1); fig.suptitle(title, fontsize=9)
    fig.tight_layout(); FIG.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG / name, dpi=110); plt.close(fig)
    return name

def per_epoch(r: dict) -> int: return -(-r['settings']['n_reports'] // r['settings']['bs'])   # an epoch covers the reports once
def conv_words(c: dict) -> str: return 'stopped improving' if c['convergence']['converged'] else 'NOT converged'

def synth_curves(r: dict, others: dict) -> str:
    "Validation language loss and selection score per epoch of every configuration (seed r), and of the full model at other seeds."
    lines = [(f"{n} (seed {r['seed']})", c['history'], '-') for n, c in r['configs'].items()]
    for s, d in others.items():
        h = json.loads((Path(d) / 'results.json').read_text())['configs'].get('MedRAT (full)')
        if h: lines.append((f"MedRAT (full) (seed {s})", h['history'], '--'))
    return curves_figure(lines, per_epoch(r), 'Generated benchmark, scale ' + r['scale'] + ': validation curves', 'synth-curves.png')

def synth(run: Path, seeds_dir: Path) -> tuple[str, str]:
    "The benchmark's tables (one seed, every configuration), its seeds table, and the paper's claims decided."
    from medrat.benchmark import results_markdown
    from medrat.comparisons import seeds_summary, seeds_table, paper_claims
    r = json.loads((run / 'results.json').read_text())
    full, B = r['configs'].get('MedRAT (full)'), r['baselines']
    runs = {r['seed']: r}
    runs.update({int(d.name[5:]): d for d in sorted(seeds_dir.glob('seed-*')) if (d / 'results.json').exists()})
    S = seeds_summary(dict(sorted(runs.items())))
    md = '### Synthetic benchmark (GENERATED data)\n\n' + results_markdown(r)
    every = lambda part: {k: v for k, v in S[part].items() if len(v) == len(S['seeds'])}   # methods run at every seed
    T = dict(S, configs=every('configs'), baselines=every('baselines'))
    if len(S['seeds']) > 1:
        md += (f"\n\n### The full model and the baselines at {len(S['seeds'])} seeds (GENERATED data)\n\n"
               "CE micro-F1 of the reports written for the test images (each seed: its own generated data, views, training "
               "and bootstrap):\n\n" + seeds_table(T) + "\n\nDecoder health (the test reports auto-encoded), CE micro-F1:\n\n"
               + seeds_table(T, 'health_ce_micro_f1') + "\n\nOptimiser steps and convergence verdict per seed: "
               + '; '.join(f"seed {k}: {v['steps']:,} steps, {'converged' if v['converged'] else 'NOT converged'}"
                           for k, v in S['configs']['MedRAT (full)'].items()) + '.')
    fig = synth_curves(r, {k: v for k, v in runs.items() if k != r['seed']})
    md += f"\n\n![validation curves of every configuration](results/figures/{fig})"
    head = ''
    if full:
        f, c = full['metrics']['ce']['micro'], B['classify-then-retrieve']['ce']['micro']
        conv, hf = full.get('convergence'), full.get('health', {}).get('micro', {}).get('f1')
        head = (f"**Generated benchmark:** after {full['steps']:,} optimiser steps ("
                + ('selection score stopped improving at epoch ' if conv['converged'] else 'NOT converged: the selection score was still improving at epoch ')
                + f"{conv['best_epoch']} of {conv['epochs_run']}), the full model's CE micro-F1 {ci(f)} {verdict(f, c)} "
                f"classify-then-retrieve ({ci(c)}); its decoder writes back the labels of the test reports it is given at CE "
                f"micro-F1 {f3(hf)}" + (" only, so the comparison is not yet a test of the method" if hf < 0.85 else '') + '.')
        head += '\n\n**The paper\'s claims, decided on the generated benchmark** (chapter `comparisons`):\n\n' + '\n'.join(
            f'- {c}' for c in paper_claims(S))
    return md, head

def synth_long(long_dir: Path, lr_dir: Path) -> tuple[str, str]:
    "The full model trained for a longer budget at several seeds (and at other learning rates): table, curves, claim (a)."
    from medrat.comparisons import seeds_summary, compare_seeds, paper_claims
    runs = {int(d.name[5:]): json.loads((d / 'results.json').read_text())
            for d in sorted(long_dir.glob('seed-*')) if (d / 'results.json').exists()}
    runs = {k: r for k, r in sorted(runs.items()) if 'MedRAT (full)' in r['configs']}
    if not runs: sys.exit(f"{long_dir}: no seed-S/results.json with a 'MedRAT (full)' run")
    S, r0 = seeds_summary(runs), runs[min(runs)]
    st, n = r0['settings'], len(runs)
    rows = []
    for s_, r in runs.items():
        c, b = r['configs']['MedRAT (full)'], r['baselines']['classify-then-retrieve']['ce']['micro']
        rows.append([str(s_), f"{c['steps']:,}", ci(c['metrics']['ce']['micro']), ci(b), f3(c['health']['micro']['f1']),
                     str(c['distinct_reports']), f"{c['convergence']['best_epoch']} of {c['convergence']['epochs_run']}",
                     conv_words(c), f"{c['seconds']['total'] / 60:.1f}"])
    cmp = compare_seeds(S, 'MedRAT (full)', 'classify-then-retrieve')
    n_conv = sum(bool(v['converged']) for v in S['configs']['MedRAT (full)'].values())
    plural = lambda k, w: f"{k} {w}{'s' * (k != 1)}"
    L = [f"### The full model trained longer: {st['epochs']} epochs at {plural(n, 'seed')} (GENERATED data)", "",
         f"The settings of the table above except the budget: {st['epochs']} epochs of {per_epoch(r0)} steps "
         f"(`medrat benchmark --configs \"MedRAT (full)\" --seeds {n} --epochs {st['epochs']}`), lr {st['lr']:g}, torch threads "
         f"{r0['threads']}; each seed's own data, training and bootstrap. The baselines do not depend on the budget; their features "
         "are computed again in each run folder, so they can differ from the table above in the third decimal (floating-point "
         "rounding depends on the processor). The wall time is one process's, as its results.json records it (other runs may have "
         "shared the cores).", "",
         markdown_table(['seed', 'optimiser steps', 'CE micro-F1', 'classify-then-retrieve', 'health (CE micro-F1)',
                         'distinct reports', 'best epoch', 'verdict', 'wall time (min)'], rows), "",
         f"Mean CE micro-F1 {cmp['a']:.3f} against {cmp['b']:.3f} (lower in {cmp['lower']} of {plural(len(cmp['seeds']), 'seed')}"
         + ('' if math.isnan(cmp['p']) else f", paired t-test p = {cmp['p']:.2f}")
         + f"): the full model is {cmp['verdict']} classify-then-retrieve; {n_conv} of {plural(n, 'run')} had stopped improving."]
    others = [k for k in r0['configs'] if k != 'MedRAT (full)']
    if others:                                   # other configurations of the first seed, the same budget (merge_results)
        full0 = r0['configs']['MedRAT (full)']['metrics']['ce']['micro']
        orow = lambda k, c, vs: [k, ci(c['metrics']['ce']['micro']), vs, f3(c['health']['micro']['f1']),
                                 f"{c['convergence']['best_epoch']} of {c['convergence']['epochs_run']}", conv_words(c)]
        L += ["", f"Other configurations at seed {r0['seed']}, the same budget (CE micro-F1 of the test reports; a difference "
                  "counts when the 95% intervals are disjoint):", "",
              markdown_table(['configuration', 'CE micro-F1', 'against the full model', 'health', 'best epoch', 'verdict'],
                             [orow('MedRAT (full)', r0['configs']['MedRAT (full)'], '–')]
                             + [orow(k, r0['configs'][k], verdict(r0['configs'][k]['metrics']['ce']['micro'], full0).removeprefix('is ')) for k in others])]
    lr_runs = [json.loads((d / 'results.json').read_text()) for d in sorted(lr_dir.glob('*')) if (d / 'results.json').exists()]
    lr_runs = [r for r in lr_runs if 'MedRAT (full)' in r['configs']]
    if lr_runs:
        lrow = lambda r, c: [f"{r['settings']['lr']:g}", str(r['seed']), f"{c['steps']:,}",
                             f"{c['convergence']['best_epoch']} of {c['convergence']['epochs_run']}", conv_words(c), f3(c['best']),
                             ci(c['metrics']['ce']['micro']), f3(c['health']['micro']['f1'])]
        L += ["", f"Other learning rates, the full model with the budget of the table of every configuration "
                  f"({lr_runs[0]['settings']['epochs']} epochs; its 'MedRAT (full)' row is lr {st['lr']:g}); the selection score "
                  f"is the selected epoch's `{lr_runs[0]['settings']['monitor']}` on the validation set:", "",
              markdown_table(['lr', 'seed', 'optimiser steps', 'best epoch', 'verdict', 'selection score', 'test CE micro-F1', 'health'],
                             [lrow(r, r['configs']['MedRAT (full)']) for r in lr_runs])]
    lines = [(f"lr {r['settings']['lr']:g}, {r['settings']['epochs']} epochs, seed {r['seed']}", r['configs']['MedRAT (full)']['history'], ls)
             for rs, ls in ((runs.values(), '-'), (lr_runs, ':')) for r in rs]
    fig = curves_figure(lines, per_epoch(r0), 'Generated benchmark, the full model trained longer: validation curves', 'synth-long-curves.png')
    L += ["", f"![validation curves of the longer runs](results/figures/{fig})"]
    claim = paper_claims(S)[0][len('(a) '):]
    head = "**The full model trained longer** (the baselines do not depend on the budget): " + claim[0].lower() + claim[1:]
    return '\n'.join(L), head

def synth_converged(folder: Path, draw: bool = True) -> tuple[str, str]:
    "The benchmark at convergence, from the runs kept in the repository (results/runs/synth-benchmark): table, curves (draw), claims."
    from medrat.comparisons import publication
    p = publication(folder)
    runs = p['runs']
    lines = [(f"{n} (seed {s})", c['history'], '-' if s == min(runs) else '--') for s, r in runs.items() for n, c in r['configs'].items()]
    fig = 'synth-converged-curves.png'
    if draw: curves_figure(lines, per_epoch(runs[min(runs)]), 'Generated benchmark at convergence: validation curves', fig)
    md = p['markdown'] + f"\n![validation curves of the kept runs](results/figures/{fig})"
    S, n_missing = p['summary'], len(p['missing'])
    head = (f"**The generated benchmark at convergence** ({sum(len(v) for v in S['configs'].values())} runs kept in `results/runs/`"
            + (f"; {n_missing} of the table's runs are not yet done" if n_missing else '') + "):\n\n" + '\n'.join(f'- {c}' for c in p['claims']))
    return md, head

def check(folder: Path) -> int:
    "CI: the published files of the parts kept in the repository are what their committed runs give (1: they differ)."
    if not any(folder.glob('*/seed-*/results.json')): print(f"{folder.relative_to(root)}: no committed runs"); return 0
    md, head = synth_converged(folder, draw=False)
    bad = [f for f, text in ((root / 'results' / 'synth-converged.md', md), (root / 'results' / 'headline' / 'synth-converged.md', head))
           if not f.exists() or f.read_text() != text + '\n']
    for f in bad: print(f"{f.relative_to(root)} is not what {folder.relative_to(root)} gives: run tools/results_tables.py and commit")
    return int(bool(bad))

if __name__ == '__main__':
    kept = root / 'results' / 'runs' / 'synth-benchmark'
    if '--check' in sys.argv: sys.exit(check(kept))
    if any(kept.glob('*/seed-*/results.json')):
        md, head = synth_converged(kept)
        (root / 'results' / 'headline').mkdir(parents=True, exist_ok=True)
        (root / 'results' / 'synth-converged.md').write_text(md + '\n'); (root / 'results' / 'headline' / 'synth-converged.md').write_text(head + '\n')
        print("wrote results/synth-converged.md and results/headline/synth-converged.md")
    names = ('nih-iu', 'synth', 'synth-seeds', 'synth-long', 'synth-lr')
    runs = dict(zip(names, map(Path, sys.argv[1:])))
    for k in names: runs.setdefault(k, root / 'runs' / k)
    (root / 'results' / 'headline').mkdir(parents=True, exist_ok=True)
    for name, fn, dest, need, args in (('nih-iu', nih_iu, 'nih-iu.md', 'results.json', ()),
                                       ('synth', synth, 'synth-benchmark.md', 'results.json', (runs['synth-seeds'],)),
                                       ('synth-long', synth_long, 'synth-long.md', 'seed-0/results.json', (runs['synth-lr'],))):
        if not (runs[name] / need).exists():
            print(f"skipped {dest}: no {runs[name] / need}; results/{dest} and results/headline/{name}.md are kept from an earlier run")
            continue
        md, head = fn(runs[name], *args)
        (root / 'results' / dest).write_text(md + '\n')
        print(f"wrote {root / 'results' / dest}")
        if head: (root / 'results' / 'headline' / f'{name}.md').write_text(head + '\n'); print(f"wrote results/headline/{name}.md")
