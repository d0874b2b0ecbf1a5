"Failure cases of medrat.evaluation and medrat.baselines: bad inputs must fail with a message naming the argument/row."
import numpy as np, pytest
import medrat.evaluation as ev
from medrat.evaluation import nlg_metrics, ce_metrics, evaluate_reports, results_table
from medrat.baselines import (most_frequent_report, random_reports, retrieve_by_labels, oracle_label_retrieval,
                              classify_then_retrieve)

REFS = ['the heart is normal .', 'no pleural effusion .']

def test_nlg_unequal_lengths():
    with pytest.raises(ValueError, match='pair up'): nlg_metrics(['a'], REFS, meteor=False)

def test_nlg_single_string_rejected():
    with pytest.raises(TypeError, match='`hyps` must be a list'): nlg_metrics('the heart', REFS, meteor=False)

def test_nlg_non_string_row():
    with pytest.raises(TypeError, match=r'`refs\[1\]` is NoneType'): nlg_metrics(['a', 'b'], ['a', None], meteor=False)

def test_nlg_empty_inputs():
    with pytest.raises(ValueError, match='empty'): nlg_metrics([], [], meteor=False)

def test_nlg_empty_reference_named():
    with pytest.raises(ValueError, match=r'refs\[1\]'): nlg_metrics(['a', 'b'], ['a', '  '], meteor=False)

def test_nlg_empty_hypothesis_scores_zero():
    m = nlg_metrics(['', ''], REFS, meteor=False)
    assert all(v == pytest.approx(0, abs=1e-6) for v in m.values())

def test_nlg_cleaning_is_applied():
    "Case and punctuation variants of the reference score as identical (clean_report on both sides)."
    m = nlg_metrics(['The heart is normal.', 'No pleural effusion.'], REFS, meteor=False)
    assert m['BLEU-4'] == pytest.approx(1, abs=1e-6)

def test_meteor_without_java(monkeypatch):
    monkeypatch.setattr(ev.shutil, 'which', lambda name: None)
    monkeypatch.setattr(ev, '_METEOR', None)
    with pytest.raises(RuntimeError, match='meteor=False'): nlg_metrics(REFS, REFS)
    assert 'METEOR' not in nlg_metrics(REFS, REFS, meteor=False)   # still works without it

def test_ce_shape_mismatch():
    with pytest.raises(ValueError, match='shape'): ce_metrics(np.zeros((3, 14)), np.zeros((4, 14)), n_boot=0)

def test_ce_not_2d():
    with pytest.raises(ValueError, match='2-D'): ce_metrics(np.zeros(14), np.zeros(14), n_boot=0)

def test_ce_non_binary_named():
    t = np.zeros((3, 14)); t[2, 5] = -1
    with pytest.raises(ValueError, match='row 2, column 5'): ce_metrics(np.zeros((3, 14)), t, n_boot=0)

def test_ce_nan_needs_mask():
    t = np.zeros((3, 14)); t[0, 13] = np.nan
    with pytest.raises(ValueError, match='`true`'): ce_metrics(np.zeros((3, 14)), t, n_boot=0)
    m = np.ones((3, 14), bool); m[:, 13] = False
    df = ce_metrics(np.zeros((3, 14)), t, m, n_boot=0)
    assert np.isnan(df.loc['Support Devices', 'f1']) and df.loc['Support Devices', 'n_known'] == 0

def test_ce_mask_must_be_bool_and_same_shape():
    with pytest.raises(TypeError, match='bool'): ce_metrics(np.zeros((3, 14)), np.zeros((3, 14)), np.ones((3, 14)))
    with pytest.raises(ValueError, match='`mask` has shape'):
        ce_metrics(np.zeros((3, 14)), np.zeros((3, 14)), np.ones((3, 13), bool))

def test_ce_labels_length():
    with pytest.raises(ValueError, match='`labels` names 14'): ce_metrics(np.zeros((3, 5)), np.zeros((3, 5)), n_boot=0)

def test_ce_no_rows():
    with pytest.raises(ValueError, match='no rows'): ce_metrics(np.zeros((0, 14)), np.zeros((0, 14)))

def test_ce_all_absent_macro_nan():
    df = ce_metrics(np.zeros((4, 3)), np.zeros((4, 3)), n_boot=50, labels=list('abc'))
    assert df.loc['macro', ['precision', 'recall', 'f1']].isna().all()

def test_baselines_empty_train():
    with pytest.raises(ValueError, match='empty'): most_frequent_report([])
    with pytest.raises(ValueError, match='empty'): random_reports([], 3)

def test_retrieval_row_mismatch():
    with pytest.raises(ValueError, match='2 rows but there are 3'):
        retrieve_by_labels(np.zeros((1, 2)), ['a', 'b', 'c'], np.zeros((2, 2)), clean=False)

def test_retrieval_class_mismatch():
    with pytest.raises(ValueError, match='classes'):
        oracle_label_retrieval(np.zeros((1, 3)), ['a', 'b'], np.zeros((2, 2)), clean=False)

def test_retrieval_report_labels_must_be_binary():
    with pytest.raises(ValueError, match='binarize_u_zeros'):
        retrieve_by_labels(np.zeros((1, 2)), ['a', 'b'], np.array([[1, -1], [0, np.nan]]), clean=False)

def test_retrieval_independent_of_report_order():
    rng = np.random.default_rng(0)
    lab = (rng.random((30, 4)) < .4).astype(float); reps = [f'r{i % 7}' for i in range(30)]
    q = (rng.random((10, 4)) < .4).astype(float)
    a = retrieve_by_labels(q, reps, lab, clean=False).reports
    p = rng.permutation(30)
    b = retrieve_by_labels(q, [reps[i] for i in p], lab[p], clean=False).reports
    assert a == b

def test_classify_then_retrieve_feature_mismatch():
    with pytest.raises(ValueError, match='`train_feats` has 5 rows'):
        classify_then_retrieve(np.zeros((5, 3)), np.zeros((4, 2)), ['a'], np.zeros((1, 2)), np.zeros((1, 3)),
                               clean=False)
    with pytest.raises(ValueError, match='train_feats'):
        classify_then_retrieve(np.zeros((5,)), np.zeros((5, 2)), ['a'], np.zeros((1, 2)), np.zeros((1, 3)),
                               clean=False)

def test_evaluate_reports_bad_true_labels():
    with pytest.raises(ValueError, match="'refs'"): evaluate_reports(['a'], true_labels='refs')
    with pytest.raises(ValueError, match='hyp_labels'):
        evaluate_reports(['a', 'b'], hyp_labels=np.zeros((3, 14)), true_labels=np.zeros((2, 14)), n_boot=0)

def test_results_table_empty_and_missing():
    with pytest.raises(ValueError, match='empty'): results_table({})
    t = results_table({'x': {'n': 1, 'nlg': {'BLEU-1': 0.5}}, 'y': {'n': 1}})
    assert t.splitlines()[-1] == '| y | 1 | – |'

def test_mask_shapes_in_baselines():
    with pytest.raises(ValueError, match='`query_mask` of shape'):
        retrieve_by_labels(np.zeros((2, 3)), ['a'], np.zeros((1, 3)), query_mask=np.ones((2, 2), bool), clean=False)
    with pytest.raises(ValueError, match='`train_mask` has shape'):
        classify_then_retrieve(np.zeros((5, 3)), np.zeros((5, 2)), ['a'], np.zeros((1, 2)), np.zeros((1, 3)),
                               train_mask=np.ones((5, 3), bool), clean=False)

def test_meteor_protocol_characters():
    "Newlines and '|||' (METEOR's separator) in raw text must not desynchronise the jar."
    m = nlg_metrics(['heart ||| normal\nlungs clear', 'a b'], ['heart normal lungs clear', 'a|||b'], clean=False)
    assert m['METEOR'] == pytest.approx(nlg_metrics(['heart normal lungs clear', 'a b'],
                                                    ['heart normal lungs clear', 'a b'], clean=False)['METEOR'])
