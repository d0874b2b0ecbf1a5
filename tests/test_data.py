"""Loaders on small generated files, and the failure cases of the data layer (medrat.data, .text, .batches)."""
import gzip, warnings
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from medrat.core import CHEXPERT_LABELS, DataError, pkg_data
from medrat.data import (DataWarning, load_image, iu_xray_reports, nih_sample, bundle_nih_sample, nih_to_chexpert,
                         data_summary)
from medrat.datasets import load_chexpert, load_mimic_cxr, load_iu_xray, report_sections
from medrat.text import clean_report, Tokenizer
from medrat.batches import ImageSet, ReportSet, PairSet

G8 = (np.arange(16 * 24).reshape(16, 24) * 240 // 383).astype(np.uint8)   # a smooth ramp, 16 x 24 (not degenerate)


def save_png(p, a=G8):
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(p)
    return p


# ---------------------------------------------------------------- load_image
def test_load_image_formats(tmp_path):
    ref = G8.astype(np.float32) / 255
    # palette image, JPEG (lossy: close), 16-bit with a 12-bit max value
    Image.fromarray(G8).convert('P').save(tmp_path/'p.png')
    np.testing.assert_allclose(load_image(tmp_path/'p.png'), ref, atol=1e-6)
    Image.fromarray(G8).save(tmp_path/'j.jpg', quality=100)
    assert np.abs(load_image(tmp_path/'j.jpg') - ref).max() < 0.03
    a12 = (G8.astype(np.uint16) * 16)                                   # up to 240*16 = 3840 <= 4095
    Image.fromarray(a12).save(tmp_path/'g12.png')
    np.testing.assert_allclose(load_image(tmp_path/'g12.png', max_value=4095), a12 / 4095, atol=1e-6)
    with pytest.warns(DataWarning, match=r'g12.png: the brightest pixel is 3840 of 65535.*max_value=4095'):
        np.testing.assert_allclose(load_image(tmp_path/'g12.png'), a12 / 65535, atol=1e-6)


@pytest.mark.parametrize('make,msg', [
    (lambda p: None, 'image file not found'),
    (lambda p: p.write_text('hello'), 'not an image file'),
    (lambda p: p.write_bytes(b''), 'not an image file'),
    (lambda p: (save_png(p.with_name('ok.png'), np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)),
                p.write_bytes(p.with_name('ok.png').read_bytes()[:2000])),
     'unreadable image'),
])
def test_load_image_bad_files(tmp_path, make, msg):
    p = tmp_path/'x.png'
    make(p)
    with pytest.raises(DataError, match=msg) as e: load_image(p)
    assert 'x.png' in str(e.value)


def test_load_image_bad_arrays(tmp_path):
    with pytest.raises(DataError, match='is a directory'): load_image(tmp_path)
    with pytest.raises(DataError, match=r'shape'): load_image(np.zeros((2, 2, 5), np.uint8))
    with pytest.raises(DataError, match=r'outside \[0, 255\]'): load_image(np.full((2, 2), 300, np.int64), max_value=255)
    with pytest.raises(DataError, match='finite'): load_image(np.full((2, 2), np.nan, np.float32))


# ---------------------------------------------------------------- CheXpert
def chexpert_csv(tmp_path, rows=None, drop=(), extra=None):
    root = tmp_path/'data'
    order = ['No Finding', 'Enlarged Cardiomediastinum', 'Cardiomegaly', 'Lung Opacity', 'Lung Lesion', 'Edema',
             'Consolidation', 'Pneumonia', 'Atelectasis', 'Pneumothorax', 'Pleural Effusion', 'Pleural Other',
             'Fracture', 'Support Devices']                         # CheXpert's own column order (not ours)
    rows = rows or [
        dict(Path='CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg', **{'Frontal/Lateral': 'Frontal', 'AP/PA': 'AP',
             'No Finding': 1.0, 'Support Devices': 1.0}),
        dict(Path='CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg', **{'Frontal/Lateral': 'Frontal', 'AP/PA': 'PA',
             'Lung Opacity': 1.0, 'Edema': -1.0, 'Cardiomegaly': 0.0}),
        dict(Path='CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg', **{'Frontal/Lateral': 'Lateral',
             'Lung Opacity': 1.0}),
    ]
    df = pd.DataFrame(rows, columns=['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA'] + order)
    if extra: extra(df)
    df = df.drop(columns=list(drop))
    csv = root/'CheXpert-v1.0-small'/'train.csv'
    csv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(csv, index=False)
    for p in df['Path']: save_png(root/p)                               # PNG bytes under a .jpg name: PIL sniffs
    return csv, root


def test_chexpert_ok(tmp_path):
    csv, root = chexpert_csv(tmp_path)
    df = load_chexpert(csv)
    assert len(df) == 3
    y = np.stack(df.labels)
    i = CHEXPERT_LABELS.index
    assert y[0, i('No Finding')] == 1 and y[0, i('Support Devices')] == 1 and y[0].sum() == 2
    assert y[1, i('Lung Opacity')] == 1 and y[1, i('Edema')] == 0 and y[1].sum() == 1   # U-Zeros: -1 -> 0
    assert df['Edema'][1] == -1                                          # raw value kept
    assert list(df.view) == ['AP', 'PA', 'LATERAL']
    assert list(df.patient_id) == ['patient00001', 'patient00002', 'patient00002']
    assert load_image(df.path[0]).shape == G8.shape
    with pytest.warns(UserWarning, match='left out 1 lateral'):
        assert len(load_chexpert(csv, frontal_only=True)) == 2


def test_chexpert_missing_columns(tmp_path):
    csv, _ = chexpert_csv(tmp_path, drop=['Edema', 'Fracture'])
    with pytest.raises(DataError, match=r"train.csv: missing column\(s\) \['Edema', 'Fracture'\]"): load_chexpert(csv)


@pytest.mark.parametrize('value', [2.0, 'yes', -2])
def test_chexpert_bad_value(tmp_path, value):
    def extra(df): df['Pneumonia'] = df['Pneumonia'].astype(object); df.loc[1, 'Pneumonia'] = value
    csv, _ = chexpert_csv(tmp_path, extra=extra)
    with pytest.raises(DataError, match=r"train.csv line 3 \(data row 2\), column 'Pneumonia'"): load_chexpert(csv)


def test_chexpert_missing_images_counted(tmp_path):
    csv, root = chexpert_csv(tmp_path)
    (root/'CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg').unlink()
    with pytest.warns(UserWarning, match=r'1 of 3 image file\(s\) not found.*left out 1 row'):
        df = load_chexpert(csv)
    assert len(df) == 2
    with pytest.raises(DataError, match='not found'): load_chexpert(csv, missing='error')
    assert len(load_chexpert(csv, check_files=False)) == 3


def test_chexpert_unreadable_csv(tmp_path):
    (tmp_path/'empty.csv').write_text('')
    with pytest.raises(DataError, match='empty.csv: unreadable label CSV'): load_chexpert(tmp_path/'empty.csv')
    with pytest.raises(DataError, match='nope.csv: label CSV not found'): load_chexpert(tmp_path/'nope.csv')


# ---------------------------------------------------------------- MIMIC-CXR
REPORT = """                                 FINAL REPORT
 INDICATION:  ___-year-old with cough.

 FINDINGS:
 Heart size is normal.  No pleural effusion.

 IMPRESSION:
 No acute process.
"""


def mimic_root(tmp_path, n_label_rows=2):
    root = tmp_path/'mimic'
    studies = [(10000032, 50414267), (10000032, 53189527), (11000011, 50000001)]
    lab = pd.DataFrame([dict(subject_id=s, study_id=st) for s, st in studies[:n_label_rows]], columns=['subject_id', 'study_id'] + CHEXPERT_LABELS)
    lab.loc[0, 'Cardiomegaly'] = 1.0; lab.loc[1, 'No Finding'] = 1.0
    root.mkdir(parents=True)
    with gzip.open(root/'mimic-cxr-2.0.0-chexpert.csv.gz', 'wt') as f: lab.to_csv(f, index=False)
    meta = pd.DataFrame([dict(dicom_id=f'd{k}', subject_id=s, study_id=st, ViewPosition=v)
                         for k, ((s, st), v) in enumerate(zip(studies, ['PA', 'LATERAL', 'AP']))])
    meta.to_csv(root/'mimic-cxr-2.0.0-metadata.csv', index=False)
    meta.assign(split=['train', 'train', 'test'])[['dicom_id', 'study_id', 'subject_id', 'split']].to_csv(
        root/'mimic-cxr-2.0.0-split.csv', index=False)
    for r in meta.itertuples():
        save_png(root/'files'/f'p{str(r.subject_id)[:2]}'/f'p{r.subject_id}'/f's{r.study_id}'/f'{r.dicom_id}.jpg')
    (root/'files/p10/p10000032/s50414267.txt').write_text(REPORT)
    return root


def test_mimic_ok_and_counted(tmp_path):
    root = mimic_root(tmp_path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        df = load_mimic_cxr(root)
    msgs = ' | '.join(str(x.message) for x in w)
    assert 'left out 1 of 3 image row(s)' in msgs                       # study 50000001 has no label row
    assert '1 of 2 studies have no report file' in msgs
    assert len(df) == 2 and list(df.split) == ['train', 'train'] and list(df.view) == ['PA', 'LATERAL']
    assert df.findings[0] == 'Heart size is normal. No pleural effusion.' and df.impression[0] == 'No acute process.'
    assert pd.isna(df.findings[1])
    assert np.stack(df.labels)[0, CHEXPERT_LABELS.index('Cardiomegaly')] == 1
    assert load_image(df.path[0]).shape == G8.shape


def test_mimic_bad_tables(tmp_path):
    root = mimic_root(tmp_path, n_label_rows=3)
    meta = root/'mimic-cxr-2.0.0-metadata.csv'
    pd.read_csv(meta).drop(columns='ViewPosition').to_csv(meta, index=False)
    with pytest.raises(DataError, match=r"mimic-cxr-2.0.0-metadata.csv: missing column\(s\) \['ViewPosition'\]"):
        load_mimic_cxr(root)
    with pytest.raises(DataError, match='MIMIC-CXR folder not found'): load_mimic_cxr(tmp_path/'nothing')
    (root/'mimic-cxr-2.0.0-chexpert.csv.gz').unlink()
    with pytest.raises(DataError, match='mimic-cxr-2.0.0-chexpert.csv\\(.gz\\) not found'): load_mimic_cxr(root)


def test_report_sections_no_findings():
    s = report_sections("IMPRESSION: Clear lungs.")
    assert s == {'IMPRESSION': 'Clear lungs.'} and 'FINDINGS' not in s


# ---------------------------------------------------------------- IU X-ray images
def test_iu_layouts(tmp_path):
    iu = iu_xray_reports()
    three = iu[iu.split.notna()].head(3)
    r2, op = tmp_path/'images', tmp_path/'NLMCXR_png'
    for r in three.itertuples():
        for k, img in enumerate(r.image_ids):
            save_png(r2/r.id/f'{k}.png'); save_png(op/f'{img}.png')
    with pytest.warns(UserWarning, match=r'left out 2952 of 2955 IU X-ray studies'):
        a = load_iu_xray(r2)
    assert list(a.id) == list(three.id) and all(len(p) == len(i) for p, i in zip(a.image_paths, a.image_ids))
    with pytest.warns(UserWarning, match='openi layout'):
        b = load_iu_xray(op)
    assert [[Path(p).stem for p in ps] for ps in b.image_paths] == [list(i) for i in three.image_ids]
    (tmp_path/'empty').mkdir()
    with pytest.raises(DataError, match='neither the R2Gen layout'): load_iu_xray(tmp_path/'empty')
    with pytest.raises(DataError, match='layout='): load_iu_xray(r2, layout='mine')


# ---------------------------------------------------------------- NIH sample
def nih_src(tmp_path, n=4, labels=None):
    src = tmp_path/'nih'
    rows = []
    for k in range(n):
        f = f'0000000{k}_000.png'
        Image.fromarray(np.stack([G8 + k] * 3, -1)).save(save_png(src/'images'/f).with_name(f))
        rows.append(dict(image=f, split='train', finding_labels=(labels or ['No Finding', 'Mass|Effusion', 'Hernia', 'Edema'])[k],
                         patient_id=k // 2, follow_up=0, age=50, sex='F', view_position='PA'))
    pd.DataFrame(rows).to_csv(src/'labels.csv', index=False)
    return src


def test_bundle_roundtrip(tmp_path):
    dst = bundle_nih_sample(nih_src(tmp_path), tmp_path/'out')
    df = nih_sample(dst)
    assert len(df) == 4 and df.image[1].dtype == np.uint8
    np.testing.assert_array_equal(df.image[1], G8 + 1)
    assert df.groupby('patient_id').split.nunique().max() == 1
    y = np.stack(df.labels); m = np.stack(df.label_mask)
    assert y[1, CHEXPERT_LABELS.index('Lung Lesion')] == 1 and y[2].sum() == 0 and m.sum(1).tolist() == [11] * 4


def test_bundle_refuses_colour(tmp_path):
    src = nih_src(tmp_path)
    a = np.stack([G8] * 3, -1); a[0, 0, 1] += 1
    Image.fromarray(a).save(src/'images'/'00000002_000.png')
    with pytest.raises(DataError, match='00000002_000.png: colour channels differ'): bundle_nih_sample(src, tmp_path/'o')
    Image.fromarray(np.dstack([G8] * 3 + [np.full_like(G8, 128)])).save(src/'images'/'00000002_000.png')
    with pytest.raises(DataError, match='alpha channel is not opaque'): bundle_nih_sample(src, tmp_path/'o')


def test_nih_bad_rows(tmp_path):
    src = nih_src(tmp_path, labels=['No Finding', 'Mass', 'Lung Cancer', 'Edema'])
    dst = bundle_nih_sample(src, tmp_path/'out')
    with pytest.raises(DataError, match=r"labels.csv row 4: unknown NIH label\(s\) \['Lung Cancer'\]"): nih_sample(dst)
    pd.read_csv(src/'labels.csv').drop(columns='patient_id').to_csv(src/'labels.csv', index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['patient_id'\]"): bundle_nih_sample(src, tmp_path/'o2')
    with pytest.raises(DataError, match='empty finding labels'): nih_to_chexpert('  ', where='x.csv row 9')


def test_nih_ids_mismatch(tmp_path):
    dst = bundle_nih_sample(nih_src(tmp_path), tmp_path/'out')
    pd.read_csv(dst/'labels.csv').iloc[::-1].to_csv(dst/'labels.csv', index=False)
    with pytest.raises(DataError, match='image ids do not match'): nih_sample(dst)


# ---------------------------------------------------------------- shipped data, summary
def test_package_data_present():
    for p in [('nih_cxr14_sample', 'images.npz'), ('nih_cxr14_sample', 'labels.csv'),
              ('nih_cxr14_sample', 'PROVENANCE.md'), ('iu_xray', 'r2gen_split.json')]:
        assert pkg_data(*p).exists(), p
    s = data_summary()
    assert 'reports 3,955' in s and 'images 1,000' in s and 'train 2,069 / val 296 / test 590' in s


# ---------------------------------------------------------------- reports
@pytest.mark.parametrize('text,msg', [('', 'empty'), ('  \n\t', 'empty'), (None, 'missing'), ('. . ;', 'without words')])
def test_empty_reports(text, msg):
    with pytest.raises(DataError, match=msg): clean_report(text)
    assert clean_report(text, allow_empty=True) == ''


def test_sources_name_bad_rows():
    y = np.zeros((3, 14), np.float32)
    with pytest.raises(DataError, match='report is empty'):                # (the row is not named here yet)
        ReportSet(['no effusion', ' ', 'heart normal'], y)
    y2 = y.copy(); y2[2, 5] = -1
    with pytest.raises(DataError, match="ReportSet: row 2, 'Edema': label -1.0 is not 0 or 1"):
        ReportSet(['a.', 'b.', 'c.'], y2)
    with pytest.raises(DataError, match=r'ImageSet: labels have shape \(3, 13\)'):
        ImageSet(np.zeros((3, 4, 4), np.uint8), y[:, :13])
    with pytest.raises(DataError, match='PairSet: 3 images but 2 reports'):
        PairSet(ImageSet(np.zeros((3, 4, 4), np.uint8), y), ['a.'] * 2)
    with pytest.raises(DataError, match='tokenizer file not found'): Tokenizer.load('/nonexistent/vocab.json')
