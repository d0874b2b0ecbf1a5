#!/usr/bin/env python
"""Run chapters in place and save their outputs, so that they read on GitHub as they run:

    python tools/execute_chapters.py nbs/02_memory.ipynb nbs/07_model.ipynb ...
    nbdev_clean                                   # then, as always before a commit

Cells flagged as `nbdev_test` skips them (`slow`, `umap`, `gpu`, from settings.ini's tst_flags) are not run and keep
the outputs they have; every other cell's output is replaced by what it prints now. A chapter that fails is left as
it was, and the command exits 1 naming it. Saved outputs never name the machine's places: temporary folders become
`<tmp>`, the checkout and site-packages prefixes are dropped (`--scrub NB...` does only that).
"""
import json, re, site, sys, tempfile
from pathlib import Path
from fastcore.basics import str2bool
from nbdev.config import get_config
from nbdev.process import NBProcessor
from nbdev.frontmatter import FrontmatterProc
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory


ROOT = Path(__file__).resolve().parents[1]
_PLACES = [(re.compile(re.escape(tempfile.gettempdir()) + r'/[\w.-]+'), '<tmp>'),      # a temporary folder of the run
           *[(re.compile(re.escape(p) + '/?'), '') for p in site.getsitepackages()],   # where packages are installed
           (re.compile(re.escape(str(ROOT)) + '/?'), '')]                              # this checkout

def scrub(o):
    "An output without the places of the machine that ran it (temporary folders, the checkout, site-packages)."
    if isinstance(o, dict): return {k: (v if k == 'image/png' else scrub(v)) for k, v in o.items()}
    if isinstance(o, list): return [scrub(v) for v in o]
    if isinstance(o, str):
        for pat, rep in _PLACES: o = pat.sub(rep, o)
    return o

def _library(o) -> bool:
    "The plotly.js library plotly inlines once per notebook (~5 MB of HTML): the figures' own outputs do without it."
    html = ''.join(o.get('data', {}).get('text/html', '')) if isinstance(o, dict) else ''
    return len(html) > 1_000_000 and 'plotly' in html[:5000].lower()

def execute(fn: Path, flags: set) -> bool:
    "Run `fn` like `nbdev_test` (flagged cells skipped) and write every executed cell's outputs back into the file."
    raw = json.loads(fn.read_text())
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    def skip(cell):
        if cell.cell_type != 'code' or 'nbdev_export' + '(' in cell.source: return True
        return bool(flags & (getattr(cell, 'directives_', {}) or {}).keys())
    k = CaptureShell(fn)
    try:
        with working_directory(fn.parent): k.run_all(nb, exc_stop=True, preproc=skip)
    except Exception:
        sys.stderr.write(k.prettytb(fname=fn) + '\n'); return False
    ran = [c for c in nb.cells]
    if len(ran) != len(raw['cells']): sys.stderr.write(f"{fn}: cell count changed while processing; not written\n"); return False
    for c, r in zip(ran, raw['cells']):
        if r['cell_type'] == 'code' and not skip(c): r['outputs'] = [scrub(dict(o)) for o in c.get('outputs', []) if not _library(o)]
    fn.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + '\n')
    return True


if __name__ == '__main__':
    if sys.argv[1:2] == ['--scrub']:                       # only clean the saved outputs of the given chapters
        for f in map(Path, sys.argv[2:]):
            raw = json.loads(f.read_text()); raw['cells'] = [dict(c, outputs=scrub(c['outputs'])) if 'outputs' in c else c for c in raw['cells']]
            f.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + '\n')
        sys.exit(0)
    flags = set(get_config().get('tst_flags', '').split())
    bad = [f for f in sys.argv[1:] if not execute(Path(f), flags)]
    for f in bad: print(f"{f}: failed; left as it was", file=sys.stderr)
    sys.exit(int(bool(bad)))
