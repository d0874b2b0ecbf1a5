#!/usr/bin/env python
"""Write results/*.md from run outputs (tables are never typed by hand), then README.md from them:

    python tools/results_tables.py [runs/nih-iu] [runs/synth] [runs/ablations]    (then: python tools/make_readme.py)

results/nih-iu.md comes from a `medrat train` run's results.json; results/synth-benchmark.md from
`medrat.benchmark.run_benchmark`'s results.json (through `medrat.benchmark.results_markdown`).
"""
import json, sys
from pathlib import Path
import pandas as pd

root = Path(__file__).resolve().parents[1]

def f3(x): return 'n/a' if x is None else f'{x:.3f}'

def nih_iu(run: Path) -> str:
    r = json.loads((run/'results.json').read_text())
    cfg, sel, wt, m = r['config'], r['selection'], r['wall_time_s'], r['machine']
    ce = lambda k: r['metrics'][k]['ce']['macro']
    ours, ctr = ce('MedRAT (ours)'), ce('classify-then-retrieve')
    reports = pd.read_csv(run/'test_reports.csv').report
    top = reports.value_counts().iloc[0]
    verdict = ('beats' if ours['f1_lo'] > ctr['f1_hi'] else 'does not beat' if ours['f1_hi'] < ctr['f1_lo']
               else 'is not distinguishable from')
    total = sum(c['wall_time_s']['total_this_call'] for c in r.get('calls', [])) or wt['total_this_call']
    L = ["### Experiment 1: NIH ChestX-ray14 sample images -> IU X-ray reports, zero pairs (real data)", "",
         f"`medrat train` (preset `{cfg['preset']}`, seed {cfg['seed']}): {cfg['data']['n_train_images']} train images, "
         f"{cfg['data']['n_train_reports']} train reports, no pair; {cfg['model']['d_model']}-d model, "
         f"{r['n_params']:,} parameters over frozen {cfg['train']['backbone']} features "
         f"({cfg['train']['img_size']} px, {cfg['data']['n_patches']} patches). Selected epoch {sel['best_epoch']} of "
         f"{sel['epochs_run']} on {sel['monitor']}. Wall time {total/60:.1f} min on {m.get('cpu_model', m['processor'])} "
         f"({m['cpu_count']} cores, {m['torch_threads']} torch thread(s), shared machine). "
         "Clinical efficacy (CE) of the reports written for the 197 patient-disjoint NIH test images, labelled by "
         "`medrat.labeler`, against NIH's labels on the 11 classes NIH defines; 95% bootstrap intervals.", "",
         r['table'].strip(), "",
         f"MedRAT {verdict} classify-then-retrieve on CE macro-F1 ({f3(ours['f1'])} vs {f3(ctr['f1'])}). "
         f"It wrote {reports.nunique()} distinct reports for {len(reports)} images "
         f"(the most common one {top} times).", ""]
    e2 = r.get('experiment2_language_ceiling')
    if e2:
        keys = [k for k in ('BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR', 'ROUGE-L', 'CIDEr') if k in e2['nlg']]
        L += ["### Experiment 2: the language side alone (IU X-ray test reports auto-encoded)", "",
              f"{e2['n']} IU X-ray test reports encoded and decoded again by the same model (greedy): the ceiling the image "
              "path can reach with this decoder.", "",
              '| ' + ' | '.join(keys) + ' |', '|' + '---:|' * len(keys),
              '| ' + ' | '.join(f3(e2['nlg'][k]) for k in keys) + ' |', ""]
    return '\n'.join(L)

def ablations(root_dir: Path) -> str:
    "The paper's Table 4 question on our data: alignment of the shared space per ablation (chapter 21)."
    t = pd.read_csv(root_dir/'alignment_table.csv', index_col=0)
    ce = {}
    for name in t.index:
        f = root_dir/name.replace(' ', '-')/'results.json'
        if f.exists(): ce[name] = json.loads(f.read_text())['metrics']['MedRAT (ours)']['ce']['macro']['f1']
    r0 = json.loads(next(iter(root_dir.glob('*/results.json'))).read_text())
    cols = [('i2r_P@5', 'image->report P@5'), ('i2r_chance', 'chance'), ('r2i_P@5', 'report->image P@5'),
            ('r2i_chance', 'chance'), ('i2r_knn_macro_f1', 'k-NN macro-F1 (img from rep)'), ('modality_gap', 'modality gap'),
            ('silhouette_mean', 'mean silhouette')]
    L = ["### The shared space per ablation (real data, chapter 21)", "",
         f"Each configuration trained like experiment 1 for {r0['selection']['epochs_run']} epochs (same data and seed); "
         "alignment of the 197 NIH test images' and 590 IU test reports' global vectors: precision@5 of sharing a "
         "pathology across modalities (with its chance level), k-NN label transfer, modality gap (centroid distance "
         "over within-modality spread; 0 = same place), mean per-pathology silhouette; and CE macro-F1 of the test reports.", "",
         '| configuration | ' + ' | '.join(c for _, c in cols) + ' | CE macro-F1 |', '|---|' + '---:|' * (len(cols) + 1)]
    for name, row in t.iterrows():
        L.append(f'| {name} | ' + ' | '.join(f3(row[k]) for k, _ in cols) + f' | {f3(ce.get(name))} |')
    return '\n'.join(L)

def synth(run: Path) -> str:
    from medrat.benchmark import results_markdown
    return '### Synthetic benchmark (GENERATED data)\n\n' + results_markdown(json.loads((run/'results.json').read_text()))

if __name__ == '__main__':
    runs = dict(zip(('nih-iu', 'synth', 'ablations'), map(Path, sys.argv[1:])))
    runs.setdefault('nih-iu', root/'runs'/'nih-iu'); runs.setdefault('synth', root/'runs'/'synth')
    (root/'results').mkdir(exist_ok=True)
    runs.setdefault('ablations', root/'runs'/'ablations')
    for name, fn, dest, need in (('nih-iu', nih_iu, 'nih-iu.md', 'results.json'), ('ablations', ablations, 'ablations.md', 'alignment_table.csv'),
                                 ('synth', synth, 'synth-benchmark.md', 'results.json')):
        if not (runs[name]/need).exists(): print(f"skipped {dest}: no {runs[name]/need}"); continue
        (root/'results'/dest).write_text(fn(runs[name]) + '\n')
        print(f"wrote {root/'results'/dest}")
