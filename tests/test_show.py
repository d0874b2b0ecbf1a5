"""What a chest X-ray researcher brings and looks at, end to end on a tiny run: DICOM files through `medrat generate`,
and the grid of pictures, generated reports, references and labels found / missed / invented (`medrat show`,
`medrat.show.run_results`)."""
import os, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image

from medrat.cli import main
from medrat.data import nih_sample
from medrat.testing import write_dicom


def run_cli(*args):
    return subprocess.run([sys.executable, '-c', 'from medrat.cli import main; main()', *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    "A real (tiny) run of experiment 1: tiny presets, 12 NIH images per split, 1 epoch."
    d = tmp_path_factory.mktemp('run')
    os.environ['MEDRAT_CACHE'] = str(d / 'cache')
    main(['train', '--out', str(d / 'run'), '--preset', 'tiny', '--epochs', '1', '--limit', '12', '--quiet'])
    return d / 'run'


@pytest.fixture(scope='module')
def pictures(tmp_path_factory):
    "One NIH picture as an 8-bit PNG, as a 16-bit MONOCHROME1 DICOM file (the same values: 257 * 255 = 65535) and as JPEG-LS."
    d = tmp_path_factory.mktemp('pics')
    from pydicom.uid import JPEGLSLossless
    img = nih_sample().image[0]
    Image.fromarray(img).save(d / 'x.png')
    a16 = img.astype(np.uint16) * 257
    write_dicom(d / 'x.dcm', 65535 - a16, 'MONOCHROME1', bits_stored=16)
    write_dicom(d / 'x_jls.dcm', a16, bits_stored=16, transfer_syntax=JPEGLSLossless)
    return d


def test_generate_reads_dicom(tiny_run, pictures):
    png = run_cli('generate', str(pictures / 'x.png'), '--run', str(tiny_run), '--beam', '1')
    dcm = run_cli('generate', str(pictures / 'x.dcm'), '--run', str(tiny_run), '--beam', '1')
    assert png.returncode == dcm.returncode == 0, dcm.stderr
    assert dcm.stdout.split('\t')[1] == png.stdout.split('\t')[1]          # the same picture, the same report


def test_generate_names_the_missing_decoder(tiny_run, pictures):
    r = run_cli('generate', str(pictures / 'x_jls.dcm'), '--run', str(tiny_run))
    err = [l for l in r.stderr.splitlines() if l.startswith('medrat generate: ')]
    assert r.returncode == 2 and len(err) == 1, r.stderr
    assert 'x_jls.dcm: pixel data compressed as JPEG-LS Lossless' in err[0] and 'pip install pylibjpeg pylibjpeg-libjpeg' in err[0]


def test_show_writes_the_grid(tiny_run, pictures, tmp_path):
    refs = tmp_path / 'refs.csv'
    pd.DataFrame(dict(image=['x.png', 'x.dcm'], report=['Small left pleural effusion.', 'The lungs are clear.'])).to_csv(refs, index=False)
    r = run_cli('show', str(pictures / 'x.png'), str(pictures / 'x.dcm'), '--run', str(tiny_run), '--beam', '1',
                '--references', str(refs), '--out', str(tmp_path / 'grid'))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(tmp_path / 'grid' / 'results.png'), str(tmp_path / 'grid' / 'results.html')]
    page = (tmp_path / 'grid' / 'results.html').read_text()
    assert page.count('<img src=') == 2 and 'Small left pleural effusion.' in page and 'x.dcm' in page
    assert all(k in page for k in ('>found</b>', '>missed</b>', '>invented</b>'))
    assert Image.open(tmp_path / 'grid' / 'results.png').size[1] > 300
    bad = run_cli('show', str(pictures / 'x.png'), '--run', str(tiny_run), '--references', str(tmp_path / 'none.csv'))
    assert bad.returncode == 2 and 'none.csv: references CSV not found' in bad.stderr, bad.stderr


def test_run_results_in_the_run_folder(tiny_run):
    import matplotlib; matplotlib.use('Agg')
    from medrat.show import run_results
    fig = run_results(tiny_run, n=3)
    assert len(fig.axes) == 6 and (tiny_run / 'results.png').exists() and (tiny_run / 'results.html').exists()
    assert 'NIH:' in fig.axes[0].get_title()
