"""The shape of the tutorial, from the notebooks and the generated package:

    python tools/chapter_stats.py            # per chapter: lines, exported names, names never shown or used in a cell
    python tools/chapter_stats.py --check    # exit 1 if a module defines a name another module defines,
                                             # if an export is never shown or used in its chapter, a chapter
                                             # is longer than --max-lines (default 700), or an export cell is
                                             # longer than --max-cell lines (default 60), or a demo cell that
                                             # displays a value has no saved output (cells flagged slow/umap/gpu
                                             # excepted: they need a real run, UMAP or a GPU)

An exported name counts as shown when a code cell of its chapter that exports nothing uses it (a demo, a test,
`show_doc`); a mention in prose does not count. Demo cells whose last line is an expression (they display something)
are counted with and without a saved output: a chapter read on GitHub shows only what was saved.
"""
import ast, json, re, sys
from collections import defaultdict
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def cells(nb: Path):
    return [(c['cell_type'], ''.join(c['source'])) for c in json.loads(nb.read_text())['cells']]

def chapter(nb: Path) -> dict:
    cs = cells(nb)
    module = next((re.search(r'#\|\s*default_exp\s+(\S+)', s).group(1) for k, s in cs
                   if k == 'code' and re.search(r'#\|\s*default_exp', s)), None)
    exported = [s for k, s in cs if k == 'code' and re.match(r'\s*#\|\s*export', s)]
    demos = [s for k, s in cs if k == 'code' and not re.match(r'\s*#\|', s.lstrip().split('\n')[0] if s.strip() else '')]
    shown = '\n'.join(demos)
    names = []
    for src in exported:
        try: tree = ast.parse(src)
        except SyntaxError: continue
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _patched(n): names.append(f"{_patched(n)}.{n.name}")
            elif isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)): names.append(n.name)
            elif isinstance(n, ast.Assign): names += [t.id for t in n.targets if isinstance(t, ast.Name)]
    public = [n for n in names if not n.split('.')[-1].startswith('_')]   # Class._helper and dunders are private
    # a name used by a later export cell of the same chapter counts as used there only if a cell shows it
    unshown = [n for n in public if not _is_shown(n, shown)]
    lines = sum(len(s.splitlines()) for _, s in cs)
    raw = json.loads(nb.read_text())['cells']
    displays = [c for c in raw if c['cell_type'] == 'code' and _displays(''.join(c['source']))]
    unsaved = [i for i, c in enumerate(raw) if c in displays and not c.get('outputs') and not _flagged(''.join(c['source']))]
    return dict(notebook=nb.name, module=module, lines=lines, cells=len(cs), exports=len(public), names=names,
                unshown=unshown, cell_lines=[len(s.splitlines()) for s in exported],
                displays=len(displays), displays_saved=sum(bool(c.get('outputs')) for c in displays), unsaved=unsaved)

def _flagged(src: str) -> bool:
    "A cell `nbdev_test` skips (settings.ini's tst_flags: slow, umap, gpu): it needs a real run, UMAP or a GPU, so CI cannot save it."
    import configparser
    cp = configparser.ConfigParser(); cp.read(root / 'settings.ini')
    flags = cp['DEFAULT'].get('tst_flags', '').split()
    return any(re.match(rf'\s*#\|\s*{f}\b', src) for f in flags)

def _patched(f) -> str | None:
    "The class a fastcore `@patch` function is added to (its first argument's annotation), else None."
    if not any(getattr(d, 'id', None) == 'patch' or getattr(getattr(d, 'func', None), 'id', None) == 'patch' for d in f.decorator_list) or not f.args.args: return None
    a = f.args.args[0].annotation
    return getattr(a, 'id', None) or (a.value if isinstance(a, ast.Constant) else None)

def _is_shown(name: str, shown: str) -> bool:
    "Used in a demo cell; a patched method `Class.method` by its name, a fastai event (before_*/after_*) with its class."
    if '.' not in name: return bool(re.search(rf'\b{re.escape(name)}\b', shown))
    cls, meth = name.split('.', 1)
    if re.match(r'(before|after)_', meth) or meth in ('forward', 'extra_repr', 'train'):   # called by fastai / torch
        return bool(re.search(rf'\b{re.escape(cls)}\b', shown))
    return bool(re.search(rf'\b{re.escape(meth)}\b', shown))

def _displays(src: str) -> bool:
    "A demo cell whose last statement is an expression (not a call of a test helper): Jupyter shows its value."
    if re.match(r'\s*#\|\s*(export|hide|default_exp)', src) or src.rstrip().endswith(';'): return False   # `x;` shows nothing
    try: body = ast.parse(src).body
    except SyntaxError: return False
    if not body or not isinstance(body[-1], ast.Expr): return False
    f = body[-1].value.func if isinstance(body[-1].value, ast.Call) else None
    name = getattr(f, 'id', getattr(f, 'attr', ''))
    return not (name.startswith(('test', 'assert')) or name in ('close', 'rmtree'))   # these return None: nothing shows

def main(argv):
    max_lines = int(argv[argv.index('--max-lines') + 1]) if '--max-lines' in argv else 700
    max_cell = int(argv[argv.index('--max-cell') + 1]) if '--max-cell' in argv else 60
    chs = [chapter(nb) for nb in sorted((root / 'nbs').glob('*.ipynb'))]
    print(f"{'notebook':24s} {'module':12s} {'lines':>6s} {'exports':>8s}  never shown or used in the chapter")
    for c in chs:
        print(f"{c['notebook']:24s} {str(c['module']):12s} {c['lines']:6d} {c['exports']:8d}  {', '.join(c['unshown'])}")
    print(f"{'total':24s} {'':12s} {sum(c['lines'] for c in chs):6d} {sum(c['exports'] for c in chs):8d}")
    where = defaultdict(list)
    for c in chs:
        if c['module']:
            for n in set(c['names']): where[n].append(c['module'])
    twice = {n: m for n, m in where.items() if len(m) > 1}
    for n, m in sorted(twice.items()): print(f'defined in several modules: {n}: {", ".join(m)}')
    long = [c['notebook'] for c in chs if c['lines'] > max_lines]
    if long: print(f'longer than {max_lines} lines: {", ".join(long)}')
    big = [(c['notebook'], n) for c in chs for n in c['cell_lines'] if n > max_cell]
    if big: print(f'export cells longer than {max_cell} lines: ' + ', '.join(f'{nb} ({n})' for nb, n in sorted(big, key=lambda x: -x[1])))
    d, ds = sum(c['displays'] for c in chs), sum(c['displays_saved'] for c in chs)
    print(f'demo cells that display a value: {d}, with a saved output: {ds}')
    unsaved = [f"{c['notebook']} cell {i}" for c in chs for i in c['unsaved']]
    if unsaved: print('demo cells that display a value but have no saved output (run tools/execute_chapters.py): ' + ', '.join(unsaved))
    if '--check' in argv and (twice or long or big or unsaved or any(c['unshown'] for c in chs)): return 1
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
