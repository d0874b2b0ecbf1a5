#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which is not installable everywhere).

The `<!-- results -->` marker is replaced by the tables in results/*.md and `<!-- headline -->` by results/headline/*.md,
which tools/results_tables.py writes from run outputs (never typed by hand). `--check` exits 1 when README.md is not what this script makes."""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def render() -> str:
    nb = json.loads((root/'nbs'/'index.ipynb').read_text())
    parts = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown']
    text = '\n\n'.join(parts) + '\n'
    first = lambda order: lambda p: (order.index(p.stem) if p.stem in order else len(order), p.name)
    order = ['nih-iu', 'synth-converged', 'synth-benchmark', 'synth-long']      # the main experiment first
    tables = sorted((root/'results').glob('*.md'), key=first(order))
    res = '\n\n'.join(p.read_text().strip() for p in tables) if tables else '_No results yet: run `medrat train`._'
    heads = sorted((root/'results'/'headline').glob('*.md'), key=first(['nih-iu', 'synth-converged', 'synth', 'synth-long']))
    head = '\n\n'.join(p.read_text().strip() for p in heads) if heads else '_No results yet: run `medrat train`._'
    return text.replace('<!-- results -->', res).replace('<!-- headline -->', head)

if __name__ == '__main__':
    out = render()
    if '--check' in sys.argv:
        if (root/'README.md').read_text() != out:
            sys.exit('README.md is not what tools/make_readme.py makes from nbs/index.ipynb and results/: run it and commit.')
    else: (root/'README.md').write_text(out)
