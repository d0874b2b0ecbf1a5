"Bad input to the report labeler (the notebook 01a_labeler holds the behaviour on good input)."
import numpy as np
import pandas as pd
import pytest
from medrat.core import DataError, N_LABELS, CHEXPERT_LABELS
from medrat.labeler import label_reports, label_report


def test_empty_list_gives_zero_rows():
    out = label_reports([])
    assert out.shape == (0, N_LABELS) and out.dtype == np.float64


def test_none_instead_of_list():
    with pytest.raises(DataError, match='texts is None'):
        label_reports(None)


def test_single_string_is_refused():
    "A bare string would otherwise be labelled character by character."
    with pytest.raises(DataError, match='wrap a single report in a list'):
        label_reports('No pneumothorax.')


@pytest.mark.parametrize('bad', [None, 3, float('nan'), b'no effusion', ['no effusion']])
def test_non_string_element_names_its_index(bad):
    with pytest.raises(DataError, match=r'texts\[1\]'):
        label_reports(['No effusion.', bad])


def test_not_iterable():
    with pytest.raises(DataError, match='not a sequence'):
        label_reports(42)


def test_label_report_non_string():
    with pytest.raises(DataError, match='expected str'):
        label_report(None)


def test_empty_and_whitespace_reports_are_all_nan():
    out = label_reports(['', '   \n\t'])
    assert out.shape == (2, N_LABELS) and np.isnan(out).all()


def test_series_and_array_inputs_match_list():
    texts = ['No pneumothorax.', 'Possible left effusion.', 'Mild cardiomegaly.']
    ref = label_reports(texts)
    np.testing.assert_array_equal(label_reports(pd.Series(texts, index=[7, 3, 5])), ref)
    np.testing.assert_array_equal(label_reports(np.array(texts)), ref)
    np.testing.assert_array_equal(label_reports(t for t in texts), ref)
    j = CHEXPERT_LABELS.index
    assert (ref[0, j('Pneumothorax')], ref[1, j('Pleural Effusion')], ref[2, j('Cardiomegaly')]) == (0, -1, 1)
