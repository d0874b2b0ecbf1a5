"""The shape of the tutorial, from the notebooks and the generated package:

    python tools/chapter_stats.py            # per chapter: lines, exported names, names never shown or used in a cell
    python tools/chapter_stats.py --check    # exit 1 if a module defines a name another module defines,
                                             # if an export is never shown or used in its chapter, or a chapter
                                             # is longer than --max-lines (default 700)

An exported name counts as shown when a non-export cell of its chapter mentions it (a demo, a test, `show_doc`).
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
    shown = '\n'.join(s for k, s in cs if not (k == 'code' and re.match(r'\s*#\|\s*export', s)))
    names = []
    for src in exported:
        try: tree = ast.parse(src)
        except SyntaxError: continue
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)): names.append(n.name)
            elif isinstance(n, ast.Assign): names += [t.id for t in n.targets if isinstance(t, ast.Name)]
    public = [n for n in names if not n.startswith('_')]
    # a name used by a later export cell of the same chapter counts as used there only if a cell shows it
    unshown = [n for n in public if not re.search(rf'\b{re.escape(n)}\b', shown)]
    lines = sum(len(s.splitlines()) for _, s in cs)
    return dict(notebook=nb.name, module=module, lines=lines, cells=len(cs), exports=len(public), names=names,
                unshown=unshown)

def main(argv):
    max_lines = int(argv[argv.index('--max-lines') + 1]) if '--max-lines' in argv else 700
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
    if '--check' in argv and (twice or long or any(c['unshown'] for c in chs)): return 1
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
