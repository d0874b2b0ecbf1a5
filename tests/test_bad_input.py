"""Bad input and faults, as a demanding user makes them: one clear error, or a counted warning, and nothing lost.

Data layer (medrat.data) and the `medrat` command's own checks; the cases that need a trained run are in test_cli.py."""
import gzip, io, os, subprocess, sys, tarfile, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image, PngImagePlugin

from medrat.core import CHEXPERT_LABELS, DataError
from medrat.data import DataWarning, MIN_SIDE, load_image, iu_xray_reports, r2gen_split
from medrat.datasets import load_chexpert, load_mimic_cxr, report_sections, is_redacted
import medrat.cli as cli
from medrat.cli import main, COMMANDS

RAMP = (np.arange(32 * 40).reshape(32, 40) * 255 // (32 * 40 - 1)).astype(np.uint8)


def messages(fn, *a, **kw):
    "(result, [warning messages]) of fn(*a, **kw)."
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        out = fn(*a, **kw)
    return out, [str(x.message) for x in w]


# ================================================================ images: one rule for which value is white
def sbit_png(p, a, bits):
    info = PngImagePlugin.PngInfo(); info.add(b'sBIT', bytes([bits]))
    Image.fromarray(a).save(p, pnginfo=info)
    return p


def test_16bit_containers(tmp_path):
    a12 = RAMP.astype(np.uint16) * 16                                     # 12-bit data, up to 4080
    Image.fromarray(a12).save(tmp_path/'plain.png')
    sbit_png(tmp_path/'stated.png', a12, 12)
    sbit_png(tmp_path/'scaled.png', a12 * 16, 12)                         # standard: scaled up to 16 bits
    full = RAMP.astype(np.uint16) * 257
    Image.fromarray(full).save(tmp_path/'full.png')
    x, w = messages(load_image, tmp_path/'stated.png')
    np.testing.assert_allclose(x, a12 / 4095, atol=1e-6); assert w == []
    x, w = messages(load_image, tmp_path/'scaled.png')
    np.testing.assert_allclose(x, a12 * 16 / 65535, atol=1e-6); assert w == []
    x, w = messages(load_image, tmp_path/'full.png')                     # real 16-bit data: unchanged, quiet
    np.testing.assert_allclose(x, RAMP / 255, atol=1e-6); assert w == []
    x, w = messages(load_image, tmp_path/'plain.png')                    # no statement: container, and a warning
    np.testing.assert_allclose(x, a12 / 65535, atol=1e-6)
    assert len(w) == 1 and 'plain.png' in w[0] and 'nearly black' in w[0] and 'max_value=4095' in w[0]
    x, w = messages(load_image, tmp_path/'plain.png', max_value=4095)
    np.testing.assert_allclose(x, a12 / 4095, atol=1e-6); assert w == []
    with pytest.raises(DataError, match=r'plain.png: pixel values span \[0, 4080\], outside \[0, 1023\]'):
        load_image(tmp_path/'plain.png', max_value=1023)


def test_8bit_files_unchanged_and_quiet(tmp_path):
    Image.fromarray(RAMP).save(tmp_path/'a.png')
    Image.fromarray(np.stack([RAMP] * 3, -1)).save(tmp_path/'rgb.png')
    sbit_png(tmp_path/'s.png', RAMP // 4, 6)                              # sBIT on 8-bit files is not used
    for f, ref in [('a.png', RAMP / 255), ('rgb.png', RAMP / 255), ('s.png', (RAMP // 4) / 255)]:
        x, w = messages(load_image, tmp_path/f)
        np.testing.assert_array_equal(x, (ref).astype(np.float32)); assert w == [], w


@pytest.mark.parametrize('bad', [0, -1, float('nan'), float('inf'), 'x'])
def test_bad_max_value(tmp_path, bad):
    Image.fromarray(RAMP).save(tmp_path/'a.png')
    with pytest.raises(DataError, match='max_value=.*must be a positive number'): load_image(tmp_path/'a.png', max_value=bad)


@pytest.mark.parametrize('a,why', [
    (np.full((1, 1), 128, np.uint8), '1x1 px'), (np.full((2, 2), 128, np.uint8), '2x2 px'),
    (RAMP[:MIN_SIDE - 1], f'{MIN_SIDE - 1}x40 px'),
    (np.zeros((64, 64), np.uint8), 'every pixel is black'), (np.full((64, 64), 255, np.uint8), 'every pixel is white'),
    (np.full((64, 64), 77, np.uint8), 'every pixel has the value 0.302'),
    (np.zeros((64, 64), np.uint16), 'every pixel is black')])
def test_degenerate_files(tmp_path, a, why):
    p = tmp_path/'d.png'; Image.fromarray(a).save(p)
    x, w = messages(load_image, p)
    assert x.shape == a.shape and len(w) == 1 and f'd.png: degenerate image ({why}' in w[0], w
    with pytest.raises(DataError, match='d.png: degenerate image'): load_image(p, degenerate='error')
    assert messages(load_image, p, degenerate='ignore')[1] == []
    with pytest.raises(DataError, match="degenerate='no'"): load_image(p, degenerate='no')


def test_arrays_are_not_judged():
    "In-memory arrays (bundled NIH sample, generated images) are the program's own: scaled, not warned about."
    for a in (np.zeros((4, 4), np.uint8), np.ones((1, 1), np.float32), np.full((8, 8), 3, np.uint16)):
        assert messages(load_image, a)[1] == []


def test_decompression_bomb(tmp_path, monkeypatch):
    Image.fromarray(RAMP).save(tmp_path/'big.png')
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)                  # 32 x 40 is now over twice the limit
    with pytest.raises(DataError, match=r'big.png: refused as a possible decompression bomb.*MAX_IMAGE_PIXELS'):
        load_image(tmp_path/'big.png')


# ================================================================ CheXpert tables
def chexpert(tmp_path, rows, name='train.csv', raw=None, **kw):
    d = tmp_path/'CheXpert-v1.0-small'; d.mkdir(parents=True, exist_ok=True)
    f = d/name
    if raw is not None: f.write_bytes(raw); return f
    pd.DataFrame(rows).to_csv(f, index=False, **kw)
    return f


def crow(pat, study=1, view='frontal', **labels):
    return dict(Path=f'CheXpert-v1.0-small/train/{pat}/study{study}/view1_{view}.jpg', Sex='F', Age=50,
                **{c: labels.get(c) for c in CHEXPERT_LABELS})


def test_chexpert_duplicates(tmp_path):
    rows = [crow('patient1', Edema=1.0), crow('patient2', Edema=0.0), crow('patient1', Edema=1.0), crow('patient3'),
            crow('patient2', Edema=0.0)]
    df, w = messages(load_chexpert, chexpert(tmp_path, rows), check_files=False)
    assert list(df.patient_id) == ['patient1', 'patient2', 'patient3']          # first rows kept, order kept
    assert len(w) == 1 and 'left out 2 duplicate row(s)' in w[0] and 'first: line 4' in w[0]
    rows[4] = crow('patient2', Edema=-1.0)                                     # now they disagree
    with pytest.raises(DataError, match=r"Path='CheXpert-v1.0-small/train/patient2/study1/view1_frontal.jpg' is on "
                                        r"lines \[3, 6\] with different values \(1 such image"):
        load_chexpert(chexpert(tmp_path, rows), check_files=False)


@pytest.mark.parametrize('blank', [None, '', '   '])
def test_chexpert_empty_path(tmp_path, blank):
    rows = [crow('patient1'), crow('patient2'), dict(crow('patient3'), Path=blank)]
    with pytest.raises(DataError, match=r"train.csv line 4 \(data row 3\): empty 'Path' cell \(1 such row"):
        load_chexpert(chexpert(tmp_path, rows), check_files=False)


def test_chexpert_repairs_and_counts(tmp_path):
    rows = [crow('patient1'), dict(crow('patient2'), Path='CheXpert-v1.0-small\\train\\patient2\\study1\\view1_frontal.jpg'),
            dict(crow('patient3'), Path='elsewhere/img.jpg')]
    df, w = messages(load_chexpert, chexpert(tmp_path, rows), check_files=False)
    assert len(df) == 3 and df.path[1].endswith('CheXpert-v1.0-small/train/patient2/study1/view1_frontal.jpg')
    assert df.patient_id[1] == 'patient2' and pd.isna(df.patient_id[2])
    assert any('1 Path cell(s) written with backslashes' in m and 'line 3' in m for m in w), w
    assert any('1 of 3 Path cell(s) name no patient<N>/study<N>/' in m and 'line 4' in m for m in w), w


def test_chexpert_encodings_and_line_endings(tmp_path):
    rows = [crow('patient1', Edema=1.0), dict(crow('patient2'), Sex='Féminin')]
    ref, w = messages(load_chexpert, chexpert(tmp_path, rows), check_files=False)
    assert w == []
    text = pd.DataFrame(rows).to_csv(index=False)
    for raw in ('\ufeff' + text).encode('utf-8'), text.replace('\n', '\r\n').encode('utf-8'):   # BOM, CRLF: as is
        df, w = messages(load_chexpert, chexpert(tmp_path, None, raw=raw), check_files=False)
        pd.testing.assert_frame_equal(df.drop(columns=['labels', 'label_mask']), ref.drop(columns=['labels', 'label_mask']))
        assert w == []
    df, w = messages(load_chexpert, chexpert(tmp_path, None, raw=text.encode('cp1252')), check_files=False)
    assert df.sex[1] == 'Féminin' and len(df) == 2
    assert len(w) == 1 and 'train.csv: not UTF-8 (line 3 is not); read as cp1252: check the 1 row(s)' in w[0]
    with gzip.open(tmp_path/'t.csv.gz', 'wb') as f: f.write(text.encode('utf-8'))
    (tmp_path/'cut.csv.gz').write_bytes((tmp_path/'t.csv.gz').read_bytes()[:40])
    with pytest.raises(DataError, match='cut.csv.gz: unreadable label CSV'): load_chexpert(tmp_path/'cut.csv.gz', check_files=False)
    with pytest.raises(DataError, match='is a folder'): load_chexpert(tmp_path, check_files=False)


# ================================================================ MIMIC-CXR tables and reports
REPORT = "FINAL REPORT\n INDICATION: cough.\n\n FINDINGS:\n Heart size is normal.\n\n IMPRESSION:\n No acute process.\n"


def mimic(tmp_path, studies=((10000032, 50414267), (10000032, 53189527), (11000011, 50000001)), reports=None,
          label_rows=None, meta_rows=None, split_rows=None, split=True):
    root = tmp_path/'mimic'; root.mkdir(exist_ok=True)
    lab = label_rows or [dict(subject_id=s, study_id=st, **{c: None for c in CHEXPERT_LABELS}) for s, st in studies]
    pd.DataFrame(lab).to_csv(root/'mimic-cxr-2.0.0-chexpert.csv', index=False)
    meta = meta_rows or [dict(dicom_id=f'd{k}', subject_id=s, study_id=st, ViewPosition='PA') for k, (s, st) in enumerate(studies)]
    pd.DataFrame(meta).to_csv(root/'mimic-cxr-2.0.0-metadata.csv', index=False)
    if split:
        sp = split_rows or [dict(dicom_id=m['dicom_id'], split='train') for m in meta]
        pd.DataFrame(sp).to_csv(root/'mimic-cxr-2.0.0-split.csv', index=False)
    for k, (s, st) in enumerate(studies):
        f = root/'files'/f'p{str(s)[:2]}'/f'p{s}'/f's{st}.txt'; f.parent.mkdir(parents=True, exist_ok=True)
        text = (reports or {}).get(k, REPORT)
        if text is not None: f.write_bytes(text if isinstance(text, bytes) else text.encode('utf-8'))
    return root


def test_mimic_reports_counted(tmp_path):
    studies = [(10000032, 50000000 + k) for k in range(7)]
    reports = {0: REPORT, 1: '', 2: 'IMPRESSION: Clear lungs.', 3: 'FINDINGS: ___ .\nIMPRESSION: XXXX.',
               4: REPORT.replace('\n', '\r\n'), 5: REPORT.replace('normal', 'normal – déjà').encode('cp1252'), 6: None}
    df, w = messages(load_mimic_cxr, mimic(tmp_path, studies, reports), check_files=False)
    assert len(df) == 7                                                   # every image row kept
    f = dict(zip(df.study_id, df.findings)); i = dict(zip(df.study_id, df.impression))
    assert f[50000000] == f[50000004] == 'Heart size is normal.'          # CRLF reads the same
    assert pd.isna(f[50000001]) and pd.isna(f[50000002]) and i[50000002] == 'Clear lungs.'
    assert pd.isna(f[50000003]) and pd.isna(i[50000003])                  # placeholders only: None
    assert f[50000005] == 'Heart size is normal – déjà.'                  # cp1252, read and said
    assert pd.isna(f[50000006])
    text = ' | '.join(w)
    for say in ['1 of 7 studies have no report file', '1 of 7 report files are empty',
                '2 of 7 report sections hold only de-identification placeholders',
                '2 of 7 reports have no FINDINGS section', '1 of 7 report files are not UTF-8: read as cp1252']:
        assert say in text, (say, w)


def test_mimic_duplicates_and_blanks(tmp_path):
    st = [(10000032, 50414267), (10000032, 53189527)]
    lab = lambda v: [dict(subject_id=s, study_id=t, **{c: e if c == 'Edema' else None for c in CHEXPERT_LABELS})
                     for (s, t), e in zip(st + st[:1], v)]
    df, w = messages(load_mimic_cxr, mimic(tmp_path, st, label_rows=lab([1.0, 0.0, 1.0])), check_files=False)
    assert len(df) == 2 and any('chexpert.csv: left out 1 duplicate row(s) that repeat an earlier study' in m for m in w), w
    with pytest.raises(DataError, match=r'chexpert.csv: study subject_id=10000032, study_id=50414267 is on lines \[2, 4\]'):
        load_mimic_cxr(mimic(tmp_path, st, label_rows=lab([1.0, 0.0, 0.0])), check_files=False)
    meta = [dict(dicom_id='d0', subject_id=10000032, study_id=50414267, ViewPosition='PA'),
            dict(dicom_id='d0', subject_id=10000032, study_id=50414267, ViewPosition='LATERAL')]
    with pytest.raises(DataError, match=r"metadata.csv: image dicom_id='d0' is on lines \[2, 3\] with different values"):
        load_mimic_cxr(mimic(tmp_path, st, meta_rows=meta), check_files=False)
    sp = [dict(dicom_id='d0', split='train'), dict(dicom_id='d1', split='test'), dict(dicom_id='d1', split='train')]
    with pytest.raises(DataError, match=r"split.csv: image dicom_id='d1' is on lines \[3, 4\]"):
        load_mimic_cxr(mimic(tmp_path, st, split_rows=sp), check_files=False)
    meta = [dict(dicom_id='d0', subject_id=10000032, study_id=50414267, ViewPosition='PA'),
            dict(dicom_id=None, subject_id=10000032, study_id=53189527, ViewPosition='PA')]
    with pytest.raises(DataError, match=r"metadata.csv line 3 \(data row 2\): empty 'dicom_id' cell"):
        load_mimic_cxr(mimic(tmp_path, st, meta_rows=meta), check_files=False)


def test_mimic_split_gaps_counted(tmp_path):
    st = [(10000032, 50414267), (10000032, 53189527)]
    df, w = messages(load_mimic_cxr, mimic(tmp_path, st, split_rows=[dict(dicom_id='d0', split='train')]), check_files=False)
    assert list(df.split.fillna('-')) == ['train', '-'] and any('1 of 2 image row(s) have no row here (split None)' in m for m in w)
    (tmp_path/'mimic'/'mimic-cxr-2.0.0-split.csv').unlink()
    df, w = messages(load_mimic_cxr, tmp_path/'mimic', check_files=False)
    assert len(df) == 2 and any('no mimic-cxr-2.0.0-split.csv(.gz): split None for all 2' in m for m in w)


def test_report_helpers():
    assert report_sections(REPORT.replace('\n', '\r')) == report_sections(REPORT)
    assert [is_redacted(t) for t in ('XXXX', 'XXXX. XXXX, ___', '', 'No XXXX.', 'x')] == [True, True, True, False, False]


# ================================================================ IU report tarballs
def iu_tarball(p, xmls):
    with tarfile.open(p, 'w:gz') as tf:
        for name, text in xmls.items():
            b = text.encode(); ti = tarfile.TarInfo(f'ecgen-radiology/{name}'); ti.size = len(b)
            tf.addfile(ti, io.BytesIO(b))
    return p


XML = ('<eCitation><uId id="{uid}"/><MedlineCitation><Article><Abstract>'
       '<AbstractText Label="FINDINGS">{findings}</AbstractText></Abstract></Article></MedlineCitation>'
       '<parentImage id="{img}"/></eCitation>')


def test_iu_tarball(tmp_path):
    sid = r2gen_split()['test'][0]
    ok = XML.format(uid='CXR7', findings='The heart is normal.', img=f'{sid}-1001')
    df = iu_xray_reports(iu_tarball(tmp_path/'ok.tgz', {'7.xml': ok}))
    assert list(df.id) == [sid] and df.split[0] == 'test' and df.findings[0] == 'The heart is normal.'
    noid = ok.replace('<uId id="CXR7"/>', '')
    with pytest.raises(DataError, match=r"noid.tgz:ecgen-radiology/8.xml: report id None is not CXR<number>"):
        iu_xray_reports(iu_tarball(tmp_path/'noid.tgz', {'7.xml': ok, '8.xml': noid}))
    with pytest.raises(DataError, match='a <parentImage> without its id'):
        iu_xray_reports(iu_tarball(tmp_path/'noimg.tgz', {'7.xml': ok.replace(f' id="{sid}-1001"', '')}))
    with pytest.raises(DataError, match='malformed XML'):
        iu_xray_reports(iu_tarball(tmp_path/'bad.tgz', {'7.xml': ok[:-5]}))
    with pytest.raises(DataError, match='no report XML files'):
        iu_xray_reports(iu_tarball(tmp_path/'empty.tgz', {}))


# ================================================================ the command line: arguments checked first
def run_main(argv, capsys):
    "(exit code, stdout, stderr) of `main(argv)` in this process."
    code = 0
    try: main(argv)
    except SystemExit as e: code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


ARG_CASES = [
    (['train', '--epoch', '3'], 'unrecognized arguments: --epoch 3 (did you mean --epochs?)'),
    (['train', '--lim', '5', '--pre', 'tiny'], 'unrecognized arguments: --lim 5 --pre tiny'),
    (['train', '--preset', 'nope'], "--preset 'nope': unknown; choose one of tiny, cpu, paper"),
    (['train', '--config', 'no memroy'], "--config 'no memroy': unknown; choose one of MedRAT (full), no memory,"),
    (['train', '--epochs', '-1'], '--epochs -1: must be a whole number of at least 1'),
    (['train', '--epochs', '0'], '--epochs 0: must be a whole number of at least 1'),
    (['train', '--limit', '0'], '--limit 0: must be a whole number of at least 1'),
    (['train', '--limit', '-5'], '--limit -5: must be'),
    (['train', '--seed', '-1'], '--seed -1: must be between 0 and 4294967295'),
    (['train', '--epochs', 'three'], "argument --epochs: invalid int value: 'three'"),
    (['benchmark', '--scale', 'huge'], "--scale 'huge': unknown; choose one of tiny, small, large"),
    (['benchmark', '--sca', 'tiny'], 'unrecognized arguments: --sca tiny'),
    (['generate', 'x.png', '--beam', '0'], '--beam 0: must be a whole number of at least 1'),
    (['generate', 'x.png', '--beam', '-3'], '--beam -3: must be'),
    (['generate', 'x.png', '--max-value', '0'], '--max-value 0.0: must be a positive number'),
    (['generate', 'x.png', '--max_value', 'nan'], '--max-value nan: must be a positive number'),
    (['generate', 'x.png', '--be', '1'], 'unrecognized arguments: --be 1'),
    (['evaluate', '--iu-images', 'imgs', '--split', 'tset'], "--split 'tset': unknown; choose one of train, val, test"),
    (['evaluate', '--split', 'val'], '--split applies only with --iu-images'),
    (['evaluate', '--limit', '3'], '--limit applies only with --iu-images'),
    (['evaluate', '--iu-images', 'imgs', '--limit', '0'], '--limit 0: must be'),
    (['evaluate', '--iu-images', 'imgs', '--beam', '0'], '--beam 0: must be'),
]


@pytest.mark.parametrize('argv,says', ARG_CASES, ids=[' '.join(a) for a, _ in ARG_CASES])
def test_bad_arguments_are_one_line(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)                                           # default outputs (runs/...) would land here
    code, out, err = run_main(argv, capsys)
    assert code == 2 and err.count('\n') == 1 and says in err and err.startswith(f'medrat {argv[0]}: error: '), err
    assert list(tmp_path.iterdir()) == []                                # nothing created, nothing started


def test_abbreviations_off_everywhere():
    for name, fn in COMMANDS.items():
        assert cli._parser(fn, f'medrat {name}').allow_abbrev is False, name


OUT_CASES = [
    (['generate', 'x.png', '--out', 'no/such/r.csv'], '--out no/such/r.csv: folder no/such does not exist'),
    (['generate', 'x.png', '--out', '.'], '--out .: is a folder; give a file name'),
    (['generate', 'x.png', '--out', 'afile/r.csv'], 'folder afile does not exist'),
    (['evaluate', '--out', 'no/such/m.json'], 'folder no/such does not exist'),
    (['train', '--out', 'afile'], '--out afile: is a file, not a folder'),
    (['train', '--out', ''], "--out '': give a folder name"),
    (['generate', 'x.png', '--out', ' '], "--out ' ': give a file name"),
    (['train', '--out', 'afile/run'], '--out afile/run: afile is a file, not a folder'),
    (['benchmark', '--out', 'afile'], '--out afile: is a file, not a folder'),
    (['benchmark', '--out', 'r', '--publish', '.'], '--publish .: is a folder'),
    (['benchmark', '--out', 'r', '--publish', 'afile/x.md'], '--publish afile: is a file, not a folder'),
]


@pytest.mark.parametrize('argv,says', OUT_CASES, ids=[' '.join(a) for a, _ in OUT_CASES])
def test_output_paths_checked_first(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path); Path('afile').write_text('x')
    code, out, err = run_main(argv, capsys)
    assert code == 2 and err.count('\n') == 1 and says in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['afile']


def test_unwritable_output_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    def refuse(*a, dir=None, **k): raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(cli.tempfile, 'TemporaryFile', refuse)            # a read-only disk (root can write anywhere)
    for argv in (['train', '--out', 'r'], ['generate', 'x.png', '--out', 'r.csv'], ['benchmark', '--out', 'r']):
        code, out, err = run_main(argv, capsys)
        assert code == 2 and '--out: cannot write in . (Permission denied); choose a folder you can write to' in err, err


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
def test_read_only_folder_for_real(tmp_path, capsys):
    ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o555)
    try:
        code, out, err = run_main(['generate', 'x.png', '--out', str(ro/'r.csv')], capsys)
        assert code == 2 and 'cannot write in' in err
    finally: ro.chmod(0o755)


def test_interrupt_and_os_errors(capsys, monkeypatch):
    def interrupted(out: str = 'r', fresh: bool = False): raise KeyboardInterrupt
    monkeypatch.setitem(COMMANDS, 'train', interrupted)
    code, out, err = run_main(['train'], capsys)
    assert code == 130 and err.strip() == 'medrat train: interrupted; rerun the same command to resume'
    def disk_full(): raise OSError(28, 'No space left on device')
    monkeypatch.setitem(COMMANDS, 'data-summary', disk_full)
    code, out, err = run_main(['data-summary'], capsys)
    assert code == 2 and err == 'medrat data-summary: error: [Errno 28] No space left on device\n'


def test_data_warnings_are_one_line(capsys, monkeypatch):
    def noisy():
        warnings.warn('x.csv: left out 3 of 9 row(s) (why)', DataWarning); print('done')
    monkeypatch.setitem(COMMANDS, 'data-summary', noisy)
    code, out, err = run_main(['data-summary'], capsys)
    assert code == 0 and out == 'done\n' and err == 'medrat data-summary: warning: x.csv: left out 3 of 9 row(s) (why)\n'


def test_console_script_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, '-c', 'from medrat.cli import main; main()', 'train', '--epoch', '3',
                        '--out', str(tmp_path/'r')], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'Traceback' not in r.stderr and '--epochs?' in r.stderr
    assert not (tmp_path/'r').exists()


def test_cmyk_and_other_four_channel_modes(tmp_path):
    "A CMYK file is not RGBA: converted to RGB first, not read with its K plate taken for alpha (an inverted image)."
    rgb = np.stack([RAMP] * 3, -1)
    Image.fromarray(rgb).convert('CMYK').save(tmp_path/'c.tif')
    np.testing.assert_allclose(load_image(tmp_path/'c.tif'), RAMP / 255, atol=1e-6)


# -- files a user did not write: pictures, reports, an image folder that matches nothing --------------------------
def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image
    from medrat.data import load_image
    a = np.zeros((20, 40), np.uint8); a[:, :10] = 255                     # a bright band on the left, 40 wide
    im = Image.fromarray(a); ex = im.getexif(); ex[0x0112] = 6            # orientation 6: rotate 90 degrees on display
    im.save(tmp_path / 'x.jpg', exif=ex.tobytes(), quality=100)
    out = load_image(tmp_path / 'x.jpg', degenerate='ignore')
    assert out.shape == (40, 20)                                          # read as shown, not as stored


def test_animated_image_first_frame_with_warning(tmp_path):
    from PIL import Image
    from medrat.data import load_image, DataWarning
    frames = [Image.fromarray(np.full((32, 32), v, np.uint8)) for v in (60, 200)]
    frames[0].save(tmp_path / 'a.gif', save_all=True, append_images=frames[1:])
    with pytest.warns(DataWarning, match='2 frames; reading the first'): out = load_image(tmp_path / 'a.gif', degenerate='ignore')
    assert abs(float(out.mean()) - 60 / 255) < 0.02


def test_empty_report_names_its_row():
    from medrat.batches import ReportSet
    with pytest.raises(DataError, match=r"ReportSet row 1 \(id 'b'\): report is empty") as e:
        ReportSet(['the heart is normal .', '  '], np.zeros((2, 14)), ids=['a', 'b'])
    assert 'allow_empty' not in str(e.value)


def test_iu_folder_without_any_image_is_an_error(tmp_path):
    from medrat.datasets import load_iu_xray
    (tmp_path / 'CXR1_1_IM-0001').mkdir()                                 # an r2gen-looking folder with no picture
    with pytest.raises(DataError, match='none of the .* IU X-ray studies has an image file .* was looked for as'):
        load_iu_xray(tmp_path, layout='r2gen')


@pytest.mark.parametrize('kind', ['chexpert', 'mimic'])
def test_every_image_missing_is_an_error_that_shows_the_path(kind, tmp_path):
    "A table none of whose image files exists stops with how the first path was made, instead of an empty data set."
    import shutil, warnings
    from medrat.testing import fake_chexpert, fake_mimic
    from medrat.datasets import load_chexpert, load_mimic_cxr
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if kind == 'chexpert':
            src = fake_chexpert(tmp_path / 'CheXpert-v1.0-small', n=8); shutil.rmtree(tmp_path / 'CheXpert-v1.0-small' / 'train')
            load, says = (lambda: load_chexpert(src)), "+ Path 'CheXpert-v1.0-small/train/patient00000/"
        else:
            src = fake_mimic(tmp_path / 'mimic', n_studies=6); shutil.rmtree(src / 'files')
            load, says = (lambda: load_mimic_cxr(src)), '+ files/pXX/p<subject>/s<study>/<dicom_id>.jpg'
        with pytest.raises(DataError, match='none of its .* image file\\(s\\) was found: the first was looked for at') as e:
            load()
    assert says in str(e.value) and str(tmp_path) in str(e.value)
