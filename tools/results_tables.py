#!/usr/bin/env python
"""Write results/*.md and results/figures/*.png from run outputs (tables are never typed by hand), then README.md:

    python tools/results_tables.py [runs/nih-iu] [runs/synth] [runs/ablations]    (then: python tools/make_readme.py)

results/nih-iu.md comes from a `medrat train` run's results.json (and its figures: learning curves, the shared-space
maps and attention overlays that `medrat.probes.analyse_run` draws, made here when the run has none yet);
results/synth-benchmark.md from `medrat.benchmark.run_benchmark`'s results.json (through `results_markdown`);
results/ablations.md from the real-data ablations of chapter `shared_space`; results/headline.md holds one sentence
per experiment, computed from the same files.
"""
import json, shutil, sys
from pathlib import Path
import pandas as pd
from medrat.core import markdown_table, slug

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

def ablations(root_dir: Path) -> str:
    "The paper's Table 4 question on our data: alignment of the shared space per ablation (chapter shared_space)."
    t = pd.read_csv(root_dir / 'alignment_table.csv', index_col=0)
    ce = {}
    for name in t.index:
        f = root_dir / slug(name) / 'results.json'
        if f.exists(): ce[name] = json.loads(f.read_text())['metrics']['MedRAT (ours)']['ce']['macro']['f1']
    r0 = json.loads(next(iter(root_dir.glob('*/results.json'))).read_text())
    cols = [('i2r_P@5', 'image->report P@5'), ('i2r_chance', 'chance'), ('r2i_P@5', 'report->image P@5'),
            ('r2i_chance', 'chance'), ('i2r_knn_macro_f1', 'k-NN macro-F1 (img from rep)'), ('modality_gap', 'modality gap'),
            ('silhouette_mean', 'mean silhouette')]
    L = ["### The shared space per ablation (real data, chapter shared_space)", "",
         f"Each configuration trained like experiment 1 for {r0['selection']['epochs_run']} epochs ({steps(r0):,} optimiser steps; "
         "same data and seed); alignment of the 197 NIH test images' and 590 IU test reports' global vectors: precision@5 of "
         "sharing a pathology across modalities (with its chance level), k-NN label transfer, modality gap (centroid distance "
         "over within-modality spread; 0 = same place), mean per-pathology silhouette; and CE macro-F1 of the test reports.", "",
         markdown_table(['configuration'] + [c for _, c in cols] + ['CE macro-F1'],
                        [[name] + [f3(row[k]) for k, _ in cols] + [f3(ce.get(name))] for name, row in t.iterrows()])]
    head = None
    if {'MedRAT (full)', 'neither auxiliary task'} <= set(t.index):
        f, n = t.loc['MedRAT (full)'], t.loc['neither auxiliary task']
        head = (f"**Real-data ablations:** after {steps(r0):,} steps each, an image's 5 nearest reports share a pathology with it "
                f"{f['i2r_P@5']:.0%} of the time with both auxiliary tasks and {n['i2r_P@5']:.0%} without them (chance "
                f"{f['i2r_chance']:.0%}); the modality gap is {f['modality_gap']:.2f} against {n['modality_gap']:.2f}, and every "
                f"configuration's reports score CE macro-F1 {', '.join(sorted({f3(v) for v in ce.values()}))}. "
                f"{steps(r0):,} steps is far from a trained model: this is not yet a test of the paper's Table 4.")
    return '\n'.join(L), head

def synth(run: Path) -> tuple[str, str]:
    from medrat.benchmark import results_markdown
    r = json.loads((run / 'results.json').read_text())
    full, B = r['configs'].get('MedRAT (full)'), r['baselines']
    head = ''
    if full:
        f, c = full['metrics']['ce']['micro'], B['classify-then-retrieve']['ce']['micro']
        mf = B['most frequent report']['ce']['micro']
        n_steps = len(full['history']) * -(-max(r['settings']['n_images'], r['settings']['n_reports']) // r['settings']['bs'])
        conv = full.get('convergence')
        hf = full.get('health', {}).get('micro', {}).get('f1')
        head = (f"**Generated benchmark:** after {n_steps:,} optimiser steps"
                + ('' if conv is None else f" (selection score {'stopped improving at epoch ' + str(conv['best_epoch']) if conv['converged'] else 'still improving'}"
                   f" of {conv['epochs_run']})")
                + f", the full model's CE micro-F1 {ci(f)} {verdict(f, c)} classify-then-retrieve ({ci(c)}) and "
                f"{verdict(f, mf)} the most frequent report ({ci(mf)})"
                + ('' if hf is None else f"; its decoder writes back the labels of the test reports it is given at CE micro-F1 "
                   f"{f3(hf)}" + (" only: the model is undertrained, and the comparison is not yet a test of the method" if hf < 0.85 else ''))
                + '.')
    return '### Synthetic benchmark (GENERATED data)\n\n' + results_markdown(r), head

if __name__ == '__main__':
    runs = dict(zip(('nih-iu', 'synth', 'ablations'), map(Path, sys.argv[1:])))
    for k in ('nih-iu', 'synth', 'ablations'): runs.setdefault(k, root / 'runs' / k)
    (root / 'results').mkdir(exist_ok=True)
    heads = {}
    for name, fn, dest, need in (('nih-iu', nih_iu, 'nih-iu.md', 'results.json'), ('ablations', ablations, 'ablations.md', 'alignment_table.csv'),
                                 ('synth', synth, 'synth-benchmark.md', 'results.json')):
        if not (runs[name] / need).exists(): print(f"skipped {dest}: no {runs[name] / need}"); continue
        out = fn(runs[name])
        md, heads[name] = out if isinstance(out, tuple) else (out, None)
        (root / 'results' / dest).write_text(md + '\n')
        print(f"wrote {root / 'results' / dest}")
    if any(heads.values()):
        (root / 'results' / 'headline.md').write_text('\n\n'.join(h for h in (heads.get('nih-iu'), heads.get('ablations'), heads.get('synth')) if h) + '\n')
        print(f"wrote {root / 'results' / 'headline.md'}")
