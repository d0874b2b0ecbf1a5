"""`medrat train` budgets in optimiser steps: --steps rounds up to whole epochs, is recorded in results.json, a longer
budget continues the run exactly, and the run says what it was (steps, verdict, how to go on)."""
import json, os
import pytest

from medrat.cli import main


def _train(out, *args, capsys=None):
    main(['train', '--out', str(out), '--preset', 'tiny', '--limit', '12', '--quiet', *args])


def test_steps_budget_recorded_and_continued(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('MEDRAT_CACHE', str(tmp_path / 'cache'))
    a = tmp_path / 'a'
    _train(a, '--steps', '4', '--lr', '0.002', '--bs', '6')     # 12 images, 36 reports, 6 + 6 a step: 6 steps an epoch
    out = capsys.readouterr().out
    r = json.loads((a / 'results.json').read_text())
    tr, sel = r['config']['train'], r['selection']
    assert (tr['steps'], tr['epochs'], tr['lr'], tr['bs']) == (6, 1, 0.002, 6)     # 4 steps rounded up to one epoch
    assert sel['steps'] == 6 and sel['epochs_run'] == 1
    assert 'this run: preset tiny' in out and '6 optimiser steps (1 epoch) of a budget of 6' in out
    _train(a, '--steps', '12', '--lr', '0.002', '--bs', '6')    # a longer budget continues the same run
    r2 = json.loads((a / 'results.json').read_text())
    assert (r2['config']['train']['steps'], r2['selection']['steps'], r2['selection']['epochs_run']) == (12, 12, 2)
    b = tmp_path / 'b'                                          # the same budget in one go gives the same history
    _train(b, '--steps', '12', '--lr', '0.002', '--bs', '6')
    rb = json.loads((b / 'results.json').read_text())
    assert [h['train_loss'] for h in rb['history']] == [h['train_loss'] for h in r2['history']]
    with pytest.raises(SystemExit):                             # any other setting changed is refused on resume
        _train(a, '--steps', '18', '--lr', '0.003', '--bs', '6')
    assert 'train.lr: 0.002 there, 0.003 now' in capsys.readouterr().err


@pytest.mark.parametrize('args, says', [(['--steps', '0'], '--steps 0'), (['--lr', '-1'], '--lr -1'),
                                        (['--bs', '0'], '--bs 0'), (['--steps', '5', '--epochs', '2'], 'one way')])
def test_bad_budget_is_one_line(tmp_path, capsys, args, says):
    with pytest.raises(SystemExit) as e: _train(tmp_path / 'x', *args)
    err = capsys.readouterr().err
    assert e.value.code == 2 and says in err and len(err.strip().splitlines()) == 1, err
