"""Does memory grow with the data set? Peak resident memory of streaming N generated pictures from disk.

    python tools/stream_memory.py                     # 2,000 and 20,000 images
    python tools/stream_memory.py --counts 500 5000 --side 224

For each count, in a fresh process: (1) one epoch of the loader over pictures read from disk with a view drawn on the
fly per sample (the fine-tuned `paper` path: `ImageFiles` + `image_augmentation`), (2) building an on-disk
`FeatureStore` of the pictures and one view with a small CNN and reading one epoch of batches from it (the frozen
path). It prints the resident set of each process after its imports, its peak (ru_maxrss), the difference, and
the images per second. The pictures are
generated once per count into a temporary folder (PNG, 96 x 80; the loader resizes them to --side).
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path

CHILD = r'''
import json, resource, sys, time
from pathlib import Path
import numpy as np, torch
from medrat.streaming import ImageFiles, store_features
from medrat.batches import ImageSet, ReportSet, UnpairedLoader
from medrat.features import image_augmentation
from medrat.testing import TinyCNN
from medrat.text import Tokenizer
from medrat.core import N_LABELS
torch.set_num_threads(1)
base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # the process with its imports, before any image
folder, n, side, mode = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
paths = sorted(folder.glob('*.png'))[:n]
y = np.eye(N_LABELS)[np.arange(n) % N_LABELS]
texts = ['the heart is normal .', 'small left effusion .', 'no pneumothorax .']
tok = Tokenizer.build(texts, min_count=1)
files = ImageFiles(paths, side)
t0 = time.time()
if mode == 'pictures': images = ImageSet(files, y, augment=image_augmentation(side))
else:
    torch.manual_seed(0)
    store = store_features(files, TinyCNN(), folder / 'stores', k=1, shard_size=1024, progress=False)
    images = ImageSet(store.orig, y, aug=store.aug)
seen = sum(len(b['x']) for b, _ in UnpairedLoader(images, ReportSet(texts, y[:3]), tok, bs=64, epoch_len='images'))
print(json.dumps(dict(n=n, seen=seen, seconds=time.time() - t0, base_mb=base_mb,
                      peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
'''

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--counts', type=int, nargs='+', default=[2000, 20000])
    ap.add_argument('--side', type=int, default=128)
    ap.add_argument('--out', help='also write the table to this markdown file (e.g. results/streaming-memory.md)')
    a = ap.parse_args()
    from PIL import Image
    from medrat.testing import radiograph
    base = [radiograph(96, 80, seed=s) for s in range(64)]
    lines = ["### Streaming from disk: memory does not grow with the data set", "",
             f"Peak resident memory of one epoch streamed from disk (`tools/stream_memory.py`, pictures resized to {a.side} px, "
             "batches of 64, one process, no workers).", "",
             "| images | mode | resident memory after imports (MiB) | peak resident memory (MiB) | growth (MiB) | images / s | the pictures held in memory would take (MiB) |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    print('\n'.join(lines))
    for n in a.counts:
        with tempfile.TemporaryDirectory() as d:
            for i in range(n): Image.fromarray(base[i % 64]).save(Path(d) / f'{i:06d}.png')
            for mode in ('pictures', 'feature store'):
                r = subprocess.run([sys.executable, '-c', CHILD, d, str(n), str(a.side), mode], capture_output=True, text=True)
                if r.returncode: sys.exit(r.stderr)
                o = json.loads(r.stdout.strip().splitlines()[-1])
                lines.append(f"| {n:,} | {mode} | {o['base_mb']:.0f} | {o['peak_mb']:.0f} | {o['peak_mb'] - o['base_mb']:.0f} | "
                             f"{o['seen'] / o['seconds']:.0f} | {n * a.side ** 2 * 4 / 2 ** 20:,.0f} |")
                print(lines[-1], flush=True)
    if a.out: Path(a.out).write_text('\n'.join(lines) + '\n')

if __name__ == '__main__': main()
