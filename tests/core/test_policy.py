"""Policies: defaults, overlays, rule precedence, decisions, and malformed files."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlflow_decay as md
from mlflow_decay.cli import main
from mlflow_decay.core.policy_file import load_policy


def test_default_policy_decides_by_the_worst_breach() -> None:
    policy = load_policy()
    status, breaches = policy.decide({"perf.roc_auc.delta": -0.03, "drift.share": 0.1})
    assert status == "warning" and [b.metric for b in breaches] == ["perf.roc_auc.delta"]
    status, breaches = policy.decide({"perf.roc_auc.delta": -0.06, "drift.share": 0.4,
                                      "drift.prediction.psi": 0.05})
    assert status == "degraded"
    assert [(b.metric, b.level) for b in breaches] == [("perf.roc_auc.delta", "degraded"),
                                                       ("drift.share", "warning")]
    assert str(breaches[0]) == "perf.roc_auc.delta = -0.06 <= -0.05 (degraded)"
    assert policy.decide({"perf.roc_auc.delta": 0.01})[0] == "healthy"


def test_exact_names_beat_patterns_and_longer_patterns_beat_shorter(tmp_path: Path) -> None:
    policy = load_policy()
    assert policy.rule_for("drift.prediction.psi").degrade == 0.25  # exact
    assert policy.rule_for("drift.age.psi") is None
    f = tmp_path / "p.toml"
    f.write_text('[thresholds]\n"drift.*.psi" = { warn = 0.2 }\n"drift.a*.psi" = { warn = 0.3 }\n')
    policy = load_policy(f)
    assert policy.rule_for("drift.age.psi").pattern == "drift.a*.psi"
    assert policy.rule_for("drift.bmi.psi").pattern == "drift.*.psi"
    assert policy.rule_for("drift.prediction.psi").degrade == 0.25


def test_user_file_is_laid_over_the_default(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('[drift]\nnumerical = { metric = "psi", threshold = 0.2 }\n'
                 '[thresholds]\n"drift.*.psi" = { warn = 0.1, degrade = 0.3 }\n'
                 '"perf.roc_auc.delta" = { warn = -0.01, degrade = -0.03 }\n'
                 '[actions]\nremove_aliases = ["champion"]\n')
    policy = load_policy(f)
    assert policy.feature_metric("numerical") == "psi" and policy.feature_threshold("numerical") == 0.2
    assert policy.feature_metric("categorical") == "js"
    assert policy.rule_for("drift.x.psi").degrade == 0.3
    assert policy.rule_for("perf.roc_auc.delta").direction == "below"
    assert policy.rule_for("drift.share") is not None  # inherited
    assert policy.remove_aliases == ("champion",)
    f.write_text('inherit = false\n[thresholds]\n"drift.share" = { warn = 0.2 }\n')
    assert [r.pattern for r in load_policy(f).rules] == ["drift.share"]


def test_effective_policy_toml_reads_back_to_the_same_policy(tmp_path: Path) -> None:
    policy = load_policy()
    f = tmp_path / "effective.toml"
    f.write_text(policy.to_toml())
    again = load_policy(f)
    assert again.rules == policy.rules and again.drift == policy.drift
    # a [promote] margin set apart from its default is written out and read back
    f.write_text(replace(policy, promote_min_loss_gain=0.05).to_toml())
    assert load_policy(f).promote_min_loss_gain == 0.05



def test_policy_show_prints_the_loss_margin_at_its_default() -> None:
    """Before: `policy show` left min_loss_gain out at its default (kept out of the policy's
    hash), so the effective policy printed no margin for a regression or multiclass
    promotion; the hash still leaves it out."""
    result = CliRunner().invoke(main, ["policy", "show"])
    assert result.exit_code == 0, result.output
    promote = tomllib.loads(result.output)["promote"]
    assert promote["min_loss_gain"] == 0.02 and promote["min_auc_gain"] == 0.01
    assert list(promote)[:3] == ["alias", "min_auc_gain", "min_loss_gain"]
    # the hash leaves it out at its default (as before the key existed), not away from it
    table = load_policy().to_dict()
    del table["promote"]["min_loss_gain"]
    assert load_policy().sha256() == hashlib.sha256(
        json.dumps(table, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert replace(load_policy(), promote_min_loss_gain=0.05).sha256() != load_policy().sha256()

@pytest.mark.parametrize(("text", "message"), [
    ("[thresholds\n", "is not valid TOML"),
    ("[alerts]\n", "unknown section 'alerts'"),
    ('[thresholds]\n"auc" = { warn = 1 }\n', "unknown metric name"),
    ('[thresholds]\n"drift.share" = { warn = "high" }\n', "must be a finite number"),
    ('[thresholds]\n"drift.share" = { warn = 0.5, degrade = 0.2, direction = "above" }\n',
     "less severe than warn"),
    ('[thresholds]\n"drift.share" = { warn = 0.5, direction = "up" }\n', "direction must be"),
    ('[thresholds]\n"drift.share" = { warn = 0.5, direction = "both" }\n',
     "takes reference bands"),
    ('[drift]\nnumerical = { metric = "chi2" }\n', "is not one of"),
    ('[actions]\nremove_aliases = "champion"\n', "must be a list of alias names"),
    ('[actions]\npage = true\n', "unknown [actions] key 'page'"),
    ('[promote]\nmin_loss_gain = 5\n', "min_loss_gain is a share of the champion's mean loss"),
])
def test_malformed_policies_raise_policy_error(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(md.PolicyError, match=message.replace("[", r"\[")):
        load_policy(f)
    with pytest.raises(md.PolicyError, match="does not exist"):
        load_policy(tmp_path / "absent.toml")


def test_policy_show_prints_the_effective_policy(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["policy", "show"])
    assert result.exit_code == 0
    shown = tomllib.loads(result.stdout)
    assert shown["thresholds"]["perf.roc_auc.delta"] == {"direction": "below", "warn": -0.02,
                                                         "degrade": -0.05}
    f = tmp_path / "p.toml"
    f.write_text('[actions]\narchive = true\n')
    result = CliRunner().invoke(main, ["policy", "show", "--policy", str(f), "--json"])
    assert result.exit_code == 0 and '"archive": true' in result.stdout


def test_shipped_example_policy_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"
    policy = load_policy(example)
    assert policy.remove_aliases == ("champion",)


def test_hysteresis_state_machine() -> None:
    policy = load_policy()  # degrade after 2 breaching windows, recover after 3 clean ones
    windows = ["degraded", "healthy", "degraded", "degraded", "healthy", "warning"]
    seen = [status for status, _, _ in policy.replay(windows)]  # type: ignore[arg-type]
    assert seen == ["warning", "healthy", "warning", "degraded", "degraded", "degraded"]
    recovering = replace(policy, auto_recover=True)
    windows = ["degraded", "degraded", "healthy", "healthy", "warning", "healthy", "healthy",
               "healthy"]
    seen = [status for status, _, _ in recovering.replay(windows)]  # type: ignore[arg-type]
    assert seen == ["warning", "degraded", "degraded", "degraded", "degraded", "degraded",
                    "degraded", "healthy"]
    status, streaks, note = recovering.next_state("degraded", "healthy", (0, 1))
    assert (status, streaks) == ("degraded", (0, 2)) and "clean window 2 of 3" in (note or "")


# -- trial 3: a swap on a metric that is only worse when higher is refused; trial 8: a floor
# on a metric that is only worse when lower, read as a ceiling, likewise
_AS_LOWER, _AS_HIGHER = "reads as lower is worse.*", "reads as higher is worse, but a lower .*"


@pytest.mark.parametrize(("text", "message"), [
    ('[thresholds]\n"drift.prediction.psi" = { warn = 0.3, degrade = 0.2 }', _AS_LOWER + "swap them"),
    ('[thresholds]\n"drift.*.wasserstein" = { warn = 0.3, degrade = 0.2 }', _AS_LOWER + "swap them"),
    ('[thresholds]\n"quality.*.missing_rate" = { warn = -0.1 }', _AS_LOWER + "give a positive one"),
    ('[thresholds]\n"perf.rmse.ratio" = { warn = 1.25, degrade = 1.1 }', _AS_LOWER + "swap them"),
    # perf.brier <= 0.17 degraded: the better the model, the worse its verdict
    ('[thresholds]\n"perf.brier" = { warn = 0.20, degrade = 0.17 }', _AS_LOWER + "swap them"),
    ('[thresholds]\n"est.rmse.delta" = { warn = -0.1 }', _AS_LOWER + "give a positive one"),
    ('[thresholds]\n"perf.roc_auc" = { warn = 0.80 }', _AS_HIGHER + 'give direction = "below" for a floor'),
    ('[thresholds]\n"perf.roc_auc" = { warn = 0.75, degrade = 0.80 }', _AS_HIGHER + "swap them"),
    ('[thresholds]\n"perf.roc_auc_ovr" = { degrade = 0.9 }', _AS_HIGHER + 'direction = "below"'),
    ('[thresholds]\n"est.accuracy.delta" = { warn = 0.02 }', _AS_HIGHER + "give a drop as a negative one"),
    ('[thresholds]\n"perf.r2" = { warn = 0.8, degrade = 0.8 }', _AS_HIGHER + 'direction = "below"'),
    ('[thresholds]\n"est.roc_auc" = { warn_k = 3 }', _AS_HIGHER + 'give direction = "below"'),
    # trial 8: a percentage where a share is read never (or always) breaches
    # drift.share never reaches 30: drift never warned; accuracy is always under 90: degraded
    ('[thresholds]\n"drift.share" = { warn = 30 }',
     r"warn 30 is outside 0..1, the values drift.share takes \(0.3 if 30 was a percentage\)"),
    ('[thresholds]\n"perf.accuracy" = { warn = 95, degrade = 90 }', r"warn 95 is outside 0..1"),
    ('[thresholds]\n"perf.roc_auc.delta" = { warn = -2, degrade = -5 }', r"warn -2 is outside -1..1"),
    ('[thresholds]\n"quality.*.missing_rate.delta" = { warn = 10 }', r"warn 10 is outside -1..1"),
    ('[thresholds]\n"est.f1.lower" = { warn = 70, direction = "below" }', r"warn 70 is outside 0..1"),
    # trial 8: a key in the wrong place says where it goes
    # unquoted, TOML reads drift.share as nested tables: the error named a metric 'drift'
    ('[thresholds]\ndrift.share = { warn = 0.3 }\n',
     r"threshold drift.share: quote a metric name with dots, \"drift.share\" = \{ ... \}"),
    ('[thresholds]\nperf.roc_auc.delta = { warn = -0.02 }\n',
     r"threshold perf.roc_auc.delta: quote a metric name"),
    # a key above every table header
    ('degrade_after = 3\n[thresholds]\n"drift.share" = { warn = 0.3 }\n',
     r"'degrade_after' is a \[hysteresis\] key, written above every table: put it under "
     r"\[hysteresis\]"),
    ('[thresholds]\nmin_rows = 50\n',
     r"\[thresholds\] 'min_rows' is a \[hysteresis\] key: put it under \[hysteresis\]"),
    ('[actions]\ndegrade_after = 3\n', r"unknown \[actions\] key 'degrade_after' \(expected "
     r"archive, .*; it is a \[hysteresis\] key\)"),
    # a threshold written after another table's header lands in that table
    ('[hysteresis]\ndegrade_after = 3\n"perf.roc_auc.delta" = { warn = -0.02 }\n',
     r"unknown \[hysteresis\] key 'perf.roc_auc.delta' \(.*; a metric's threshold goes under "
     r"\[thresholds\]\)"),
    ('[drift]\n"drift.share" = { warn = 0.3 }\n', r"a metric's threshold goes under \[thresholds\]"),
    ('[hysteresis]\ndegrade_after = "3"\n', r"degrade_after must be a whole number >= 1, got '3'"),
])
def test_a_policy_that_cannot_mean_what_it_says_is_refused(tmp_path: Path, text: str,
                                                           message: str) -> None:
    # as "lower is worse": every window with PSI under 0.2 degraded the version; as "higher
    # is worse": "warn when AUC falls to 0.80" warned on every healthy window; a percentage:
    # drift.share = { warn = 30 } never warned; a key in another table was "unknown"
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(md.PolicyError, match=message):
        load_policy(f)


def test_lower_is_worse_stays_for_other_metrics_and_when_said(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('[thresholds]\n"quality.rows" = { warn = 1000, degrade = 100 }\n'
                 '"drift.share" = { warn = 0.3, degrade = 0.2, direction = "below" }\n'
                 '"perf.roc_auc.delta" = { warn = -0.02, degrade = -0.05 }\n')
    rules = {r.pattern: r.direction for r in load_policy(f).rules}
    assert rules["quality.rows"] == rules["drift.share"] == rules["perf.roc_auc.delta"] == "below"


def test_a_performance_floor_judges_as_written(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('inherit = false\n[thresholds]\n'
                 '"perf.roc_auc" = { warn = 0.80, degrade = 0.75 }\n'
                 '"perf.accuracy" = { warn = 0.9, direction = "below" }\n'
                 '"perf.f1" = { warn = 0.99, direction = "above" }\n'   # a leak watched for
                 '"perf.brier" = { warn = 0.17, degrade = 0.2 }\n')
    policy = load_policy(f)
    assert policy.decide({"perf.roc_auc": 0.83, "perf.accuracy": 0.95, "perf.f1": 0.7,
                          "perf.brier": 0.15})[0] == "healthy"
    status, breaches = policy.decide({"perf.roc_auc": 0.78, "perf.accuracy": 0.85,
                                      "perf.f1": 0.995, "perf.brier": 0.21})
    assert status == "degraded"
    assert sorted((b.metric, b.level, b.direction) for b in breaches) == [
        ("perf.accuracy", "warning", "below"), ("perf.brier", "degraded", "above"),
        ("perf.f1", "warning", "above"), ("perf.roc_auc", "warning", "below")]


# -- trial 8: a key in the wrong place is named with where it goes ------------------
def test_unbounded_metrics_take_any_threshold(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('[thresholds]\n"drift.*.psi" = { warn = 2 }\n"perf.log_loss" = { warn = 3 }\n'
                 '"perf.r2" = { warn = -2, degrade = -5 }\n"business.revenue" = { warn = 500 }\n'
                 '"drift.share" = { warn = 1 }\n')
    assert load_policy(f).rule_for("perf.r2") is not None


def test_a_percentage_as_a_drift_threshold_is_refused(tmp_path: Path) -> None:
    # no feature's KS reaches 10: drift.share stayed 0 whatever moved
    f = tmp_path / "p.toml"
    f.write_text('[drift]\nnumerical = { metric = "ks", threshold = 10 }\n')
    with pytest.raises(md.PolicyError, match=r"\[drift\] numerical threshold 10 is outside 0..1, "
                                             r"the values ks takes \(0.1 if 10 was a percentage"):
        load_policy(f)
    f.write_text('[drift]\nnumerical = { metric = "psi", threshold = 10 }\n')  # unbounded
    assert load_policy(f).feature_threshold("numerical") == 10
