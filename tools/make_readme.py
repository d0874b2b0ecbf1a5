#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb and results/ (nbdev_readme needs Quarto, which is not installable everywhere):

    python tools/make_readme.py            # write README.md
    python tools/make_readme.py --check    # exit 1 when README.md is not what this writes

The text is `medrat.publish.readme` (chapter `publish`); tools/results_tables.py writes the pages and headlines it reads."""
import sys
from pathlib import Path
from medrat.publish import readme

root = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    out = readme(root)
    if '--check' in sys.argv:
        if (root / 'README.md').read_text() != out:
            sys.exit('README.md is not what tools/make_readme.py makes from nbs/index.ipynb and results/: run it and commit.')
    else: (root / 'README.md').write_text(out)
