"""Champion vs challenger: the paired tests (DeLong's of two AUCs, Student's t of two mean
losses) and the comparison run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import frame_profile, make_frame
from scipy import stats
from scipy.stats import ttest_rel
from sklearn.metrics import log_loss, roc_auc_score

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.stats.comparison import delong

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)


def _brute_force(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """DeLong's variance from explicit pairwise placements (O(m n)), independent of midranks."""
    y = y.astype(bool)
    v10, v01 = [], []
    for s in (a, b):
        pos, neg = s[y], s[~y]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    c = np.array([-1.0, 1.0])
    var = c @ np.cov(np.vstack(v10)) @ c / y.sum() + c @ np.cov(np.vstack(v01)) @ c / (~y).sum()
    return float(np.mean(v10[1]) - np.mean(v10[0])), float(np.sqrt(var))


def test_delong_matches_pairwise_placements_and_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(int)
    a = np.round(rng.normal(y, 1.0), 1)  # rounded: ties must count half
    b = np.round(rng.normal(1.3 * y, 1.0), 1)
    result = delong(y, a, b)
    assert result.auc == (pytest.approx(roc_auc_score(y, a)), pytest.approx(roc_auc_score(y, b)))
    diff, se = _brute_force(y, a, b)
    assert result.diff == pytest.approx(diff) and result.se == pytest.approx(se)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(diff / se)))
    assert result.lower < result.diff < result.upper


def test_delong_known_cases() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.5).astype(int)
    a = rng.normal(y, 1.0)
    same = delong(y, a, a)
    assert same.diff == 0 and same.p_value == 1.0
    # a perfect challenger against a coin: the difference is certain
    perfect = delong(y, rng.random(300), y + rng.random(300) * 0.5)
    assert perfect.auc[1] == 1.0 and perfect.p_value < 1e-10
    # under the null, the test rejects at about its nominal rate
    rejections = 0
    for seed in range(200):
        r = np.random.default_rng(100 + seed)
        yy = (r.random(200) < 0.4).astype(int)
        rejections += delong(yy, r.normal(yy, 1.5), r.normal(yy, 1.5)).p_value < 0.05
    assert 2 <= rejections <= 20  # 5% of 200 = 10


def test_compare_two_versions_on_the_same_window(
        tracking_uri: str, two_versions: tuple[str, str], tmp_path: Path) -> None:
    champion, challenger = two_versions
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", champion.rsplit("/", 1)[1])
    client.set_registered_model_alias("churn", "challenger", challenger.rsplit("/", 1)[1])
    window = make_frame(4000, 7)
    rng = np.random.default_rng(0)
    window["score_new"] = np.clip(window.label * 0.35 + window.score * 0.65
                                  + rng.normal(0, 0.05, 4000), 0, 1)
    window.to_parquet(tmp_path / "w.parquet")
    out = CliRunner().invoke(main, ["compare", "models:/churn@champion",
                                    "models:/churn@challenger", "--data",
                                    str(tmp_path / "w.parquet"), "--predictions", "score,score_new",
                                    "--tracking-uri", tracking_uri, "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    result = json.loads(out.stdout)
    m = result["metrics"]
    assert result["labels"] == ["champion", "challenger"]
    assert m["compare.champion.perf.roc_auc"] == pytest.approx(
        roc_auc_score(window.label, window.score))
    assert m["compare.challenger.perf.roc_auc"] == pytest.approx(
        roc_auc_score(window.label, window.score_new))
    assert m["compare.diff.roc_auc"] == pytest.approx(
        m["compare.challenger.perf.roc_auc"] - m["compare.champion.perf.roc_auc"])
    assert m["compare.diff.roc_auc"] > 0 and m["compare.diff.roc_auc.p_value"] < 0.05
    assert "compare.diff.est.roc_auc.lower" in m
    run = client.get_run(result["run_id"])
    panel = Path(client.download_artifacts(result["run_id"], "plots/comparison.png",
                                           str(tmp_path / "dl")))
    assert panel.read_bytes()[:4] == b"\x89PNG"
    stored = json.loads(Path(client.download_artifacts(
        result["run_id"], "comparison.json", str(tmp_path / "dl"))).read_text())
    assert stored["run_id"] == result["run_id"]  # trial 7: it was null
    assert run.data.tags["mlflow_decay.kind"] == "comparison"
    assert run.data.tags["mlflow_decay.compare.models"] == f"{champion},{challenger}"
    assert run.data.metrics["compare.diff.roc_auc.p_value"] == pytest.approx(
        m["compare.diff.roc_auc.p_value"])

    unlabeled = md.compare(window.drop(columns="label"), [champion, challenger],
                           predictions=["score", "score_new"], log=False,
                           tracking_uri=tracking_uri)
    assert unlabeled.delong is None and "compare.diff.est.roc_auc" in unlabeled.metrics
    with pytest.raises(md.DataError, match="two model URIs"):
        md.compare(window, [champion], tracking_uri=tracking_uri)


def test_one_version_compared_on_two_output_columns(
        tracking_uri: str, profiled: str) -> None:
    result = md.compare(make_frame(2000, 3).assign(again=lambda f: f.score), [profiled, profiled],
                        predictions=["score", "again"], log=False, tracking_uri=tracking_uri)
    assert result.labels == ["v1_1", "v1_2"] and result.metrics["compare.diff.roc_auc"] == 0
    window = make_frame(100, 3)
    with pytest.raises(md.DataError, match="appears more than once"):
        md.evaluate(profiled, pd.concat([window, window[["x1"]]], axis=1), log=False,
                    tracking_uri=tracking_uri)


def _better_scored(seed: int) -> pd.DataFrame:
    """A window of ``make_frame`` whose ``score_new`` (the challenger's) ranks far better."""
    w = make_frame(4000, seed)
    noise = np.random.default_rng(seed).normal(0, 0.05, 4000)
    return w.assign(score_new=np.clip(w.label * 0.35 + w.score * 0.65 + noise, 0, 1))


def test_promote_after_two_winning_windows(tracking_uri: str,
                                           two_versions: tuple[str, str]) -> None:
    champion, challenger = two_versions
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    window = _better_scored
    args = {"predictions": ["score", "score_new"], "promote": True, "tracking_uri": tracking_uri}
    dry = md.compare(window(10), ["models:/churn@champion", challenger], dry_run=True, **args)
    assert dry.run_id is None and dry.promotion == []
    assert "streak 1 of 2" in dry.notes[-1]
    assert registry.PROMOTE_STREAK not in registry.resolve(client, challenger).tags

    first = md.compare(window(11), ["models:/churn@champion", challenger], **args)
    assert first.promotion == [] and "streak 1 of 2" in first.notes[-1]
    assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:1"
    second = md.compare(window(12), ["models:/churn@champion", challenger],
                        window_start="2026-01-05", window_end="2026-01-12", **args)
    assert second.promotion == [f"move alias @champion to {challenger}"]
    assert str(client.get_model_version_by_alias("churn", "champion").version) == "2"
    tags = registry.resolve(client, challenger).tags
    assert tags[registry.PROMOTED_FROM].startswith("v1: challenger won this window")
    # the window it won last, and the run that says so (before: neither was named)
    assert f"; window {second.window}; promoted at " in tags[registry.PROMOTED_FROM]
    assert tags[registry.PROMOTED_FROM].endswith(f"; comparison run {second.run_id}")
    assert second.window == "2026-01-05 → 01-12 (UTC)"
    assert registry.resolve(client, champion).tags[registry.DEMOTED_TO].startswith("v2 at ")
    # now v1 challenges v2 with its own (worse) scores: a losing window keeps the streak at 0
    md.compare(window(13), [challenger, champion], **{**args, "predictions": ["score_new", "score"]})
    assert registry.resolve(client, champion).tags[registry.PROMOTE_STREAK] == "2:0"


def test_regression_versions_compare_on_their_own_prediction_columns(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    rng = np.random.default_rng(4)

    def prices(n: int) -> pd.DataFrame:
        sqft = rng.lognormal(7, 0.3, n)
        return pd.DataFrame({"sqft": sqft, "price": 150 * sqft * rng.lognormal(0, 0.15, n),
                             "pred": 150 * sqft})

    champion, challenger = new_version("prices"), new_version("prices")
    profile = md.build_profile(prices(2000), target="price", prediction="pred",
                               task="regression", band_chunks=0)
    for uri in (champion, challenger):
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    window = prices(1000).assign(pred2=lambda f: f.pred * 1.1)
    # the challenger's loss models read its own output column, as the profile read "pred"
    result = md.compare(window, [champion, challenger], predictions=["pred", "pred2"],
                        log=False, tracking_uri=tracking_uri)
    own = [md.evaluate(champion, window.drop(columns="pred2"), log=False,
                       tracking_uri=tracking_uri),
           md.evaluate(challenger, window.drop(columns="pred").rename(columns={"pred2": "pred"}),
                       log=False, tracking_uri=tracking_uri)]
    a, b = result.labels
    for label, report in zip((a, b), own, strict=True):
        for name in ("est.rmse", "perf.rmse"):
            assert result.metrics[f"compare.{label}.{name}"] == pytest.approx(
                report.metrics[name])
    assert result.metrics["compare.diff.perf.rmse"] > 0  # 10 % over the price: worse
    window.to_csv(tmp_path / "w.csv", index=False)
    out = CliRunner().invoke(main, ["compare", champion, challenger, "--data",
                                    str(tmp_path / "w.csv"), "--predictions", "pred,pred2",
                                    "--no-log", "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    assert re.search(r"^perf\.rmse +[\d,.]+ +[\d,.]+ +\+[\d,.]+$", out.stdout, re.M)
    # each side's verdict on this window alone, not named like the versions' stage ("status")
    assert re.search(rf"^window verdict +{result.statuses[0]} +{result.statuses[1]}$",
                     out.stdout, re.M)
    assert not re.search(r"^status ", out.stdout, re.M)
    # a regression's test is the paired t-test of the rows' absolute errors (scipy's), and the
    # challenger, 10 % over every price, loses
    assert result.delong is None and result.paired is not None
    errors = [np.abs(window.price - window[c]) for c in ("pred", "pred2")]
    expected = ttest_rel(errors[1], errors[0])
    assert result.paired.p_value == pytest.approx(expected.pvalue)
    assert result.metrics["compare.diff.mae"] == pytest.approx(errors[1].mean() - errors[0].mean())
    assert (result.metrics["compare.diff.mae.lower"], result.metrics["compare.diff.mae.upper"]) \
        == pytest.approx(tuple(expected.confidence_interval()))
    assert result.paired.gain < 0
    assert any(n.startswith("challenger did not win this window (mae +") for n in result.notes)
    assert "paired t-test: mean mae difference +" in out.stdout
    # trial 21 (helper g): errors in dollars read as the table above them, not 1.132e+05
    t, means = result.paired, [e.mean() for e in errors]
    assert (f"paired t-test: mean mae difference {t.diff:+,.1f} (95% CI {t.lower:+,.1f} to "
            f"{t.upper:+,.1f}; {-t.gain:+.1%} of {means[0]:,.1f}), p = ") in out.stdout
    assert f"(mae {-t.gain:+.1%} ({means[0]:,.1f} to {means[1]:,.1f}), p = " in out.stdout
    assert not re.search(r"\de\+\d", out.stdout)


def test_a_window_another_comparison_counted_meanwhile_counts_towards_the_streak(
        tracking_uri: str, two_versions: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a comparison planned the challenger's streak from its tags as read when it
    began and wrote them after logging its run, so a window another comparison counted in
    between was lost (two wins, streak 1, no promotion). Now it plans again under the
    challenger's lease, from its tags as they are then."""
    _, challenger = two_versions
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    window = _better_scored
    args = {"predictions": ["score", "score_new"], "promote": True, "tracking_uri": tracking_uri}
    log_comparison, inner = registry.runs.log_comparison, []

    def meanwhile(*a: Any, **k: Any) -> str:  # another comparison, done while this one logs
        if not inner:
            inner.append(None)
            inner[0] = md.compare(window(22), ["models:/churn@champion", challenger], **args)
        return log_comparison(*a, **k)

    monkeypatch.setattr(registry.runs, "log_comparison", meanwhile)
    outer = md.compare(window(21), ["models:/churn@champion", challenger], **args)
    assert "streak 1 of 2" in inner[0].notes[-1] and inner[0].promotion == []
    assert "streak 2 of 2" in outer.notes[-1]
    assert outer.promotion == [f"move alias @champion to {challenger}"]
    assert str(client.get_model_version_by_alias("churn", "champion").version) == "2"
    assert client.get_run(outer.run_id).data.tags[registry.REASONS] == outer.notes[-1]


def test_no_promotion_says_why_when_a_binary_window_has_one_label_class(
        tracking_uri: str, two_versions: tuple[str, str]) -> None:
    champion, challenger = two_versions
    for uri in two_versions:
        md.attach_profile(uri, frame_profile(2000, 1, target="label", prediction="score"),
                          tracking_uri=tracking_uri)
    window = make_frame(500, 2).assign(label=1, score_new=lambda f: f.score)
    result = md.compare(window, [champion, challenger], predictions=["score", "score_new"],
                        log=False, tracking_uri=tracking_uri)
    assert result.delong is None
    assert result.notes[-1] == ("no promotion: DeLong's test needs both classes among the "
                                "window's labels")
    unlabelled = md.compare(window.drop(columns="label"), [champion, challenger],
                            predictions=["score", "score_new"], log=False,
                            tracking_uri=tracking_uri)
    assert unlabelled.notes[-1] == "no promotion: DeLong's test needs labels on the window"


# --- trial 3 ------------------------------------------------------------------------


def test_delong_reads_a_challenger_that_scores_the_other_class(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    # the challenger's profile names 0 as its positive class (a decision_function of the other
    # class, say): DeLong compares both as the probability of the champion's positive class
    champion, challenger = new_version(), new_version()
    rng = np.random.default_rng(5)

    def with_better(frame: pd.DataFrame) -> pd.DataFrame:
        better = np.clip(frame.label * 0.35 + frame.score * 0.65
                         + rng.normal(0, 0.05, len(frame)), 0, 1)
        return frame.assign(p_zero=1 - better)

    reference = with_better(make_frame(3000, 1))
    md.attach_profile(champion, md.build_profile(reference.drop(columns="p_zero"),
                                                 target="label", prediction="score",
                                                 band_chunks=0), tracking_uri=tracking_uri)
    md.attach_profile(challenger, md.build_profile(
        reference.drop(columns="score"), target="label", prediction="p_zero", positive_label=0,
        band_chunks=0), tracking_uri=tracking_uri)
    window = with_better(make_frame(3000, 8))
    result = md.compare(window, [champion, challenger], predictions=["score", "p_zero"],
                        log=False, tracking_uri=tracking_uri)
    auc_new = roc_auc_score(window.label, 1 - window.p_zero)
    assert result.delong is not None
    assert result.delong.auc == (pytest.approx(roc_auc_score(window.label, window.score)),
                                 pytest.approx(auc_new))
    assert result.metrics["compare.diff.roc_auc"] == pytest.approx(
        auc_new - roc_auc_score(window.label, window.score))
    assert result.metrics["compare.diff.roc_auc"] > 0.02
    assert any("score different classes ('1' and '0')" in n for n in result.notes), result.notes


def _cards(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Three classes, a feature ``x`` and class probabilities ``p_a``, ``p_b``, ``p_c``."""
    y = rng.choice(["a", "b", "c"], n)
    x = rng.normal(0, 1, n) + (y == "b") + 2 * (y == "c")
    logits = np.stack([0 * x, x, 2 * x - 1], axis=1)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return pd.DataFrame({"x": x, "y": y, "p_a": p[:, 0], "p_b": p[:, 1], "p_c": p[:, 2]})


def _cards_champion(rng: np.random.Generator, tracking_uri: str,
                    new_version: Callable[..., str]) -> tuple[str, str, pd.DataFrame]:
    """Versions 1 and 2 of 'cards', the first profiled on a reference of :func:`_cards`
    (the second left for the test to profile); their URIs and the reference."""
    champion, challenger = new_version("cards"), new_version("cards")
    reference = _cards(2000, rng)
    md.attach_profile(champion, md.build_profile(
        reference, target="y", prediction=["p_a", "p_b", "p_c"], task="multiclass",
        band_chunks=0), tracking_uri=tracking_uri)
    return champion, challenger, reference


def test_a_multiclass_comparison_tests_the_rows_log_losses(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a multiclass model had no paired test ("DeLong's test compares two binary
    classifiers' ROC AUCs"), so compare --promote never promoted one. Its test is now the
    paired t-test of the rows' log losses, the challenger's columns read as the champion's
    classes whatever their order."""
    rng = np.random.default_rng(2)
    champion, challenger, reference = _cards_champion(rng, tracking_uri, new_version)
    # the challenger's outputs: sharper, in its own columns, class c first
    sharp = ["q_c", "q_a", "q_b"]
    md.attach_profile(challenger, md.build_profile(
        reference.rename(columns=dict(zip(["p_c", "p_a", "p_b"], sharp, strict=True))),
        target="y", prediction=sharp, task="multiclass", classes=["c", "a", "b"],
        band_chunks=0), tracking_uri=tracking_uri)
    window = _cards(1500, rng)
    truth = window[["p_a", "p_b", "p_c"]].to_numpy()
    onehot = (window.y.to_numpy()[:, None] == np.array(["a", "b", "c"])).astype(float)
    better = 0.8 * truth + 0.2 * onehot  # nearer the labels: a lower log loss
    window[sharp] = better[:, [2, 0, 1]]
    result = md.compare(window, [champion, challenger], predictions=None, log=False,
                        tracking_uri=tracking_uri)
    assert result.delong is None and result.paired is not None
    assert result.paired.metric == "log_loss"
    assert result.paired.mean == pytest.approx(
        (log_loss(window.y, truth, labels=["a", "b", "c"]),
         log_loss(window.y, better, labels=["a", "b", "c"])))
    rows = [-np.log((p * onehot).sum(axis=1)) for p in (truth, better)]
    assert result.paired.p_value == pytest.approx(ttest_rel(rows[1], rows[0]).pvalue)
    assert result.paired.gain > 0.02 and result.paired.p_value < 0.05
    assert any(n.startswith("challenger won this window (log_loss -") for n in result.notes)


def test_a_regression_challenger_is_promoted_after_two_windows_of_lower_errors(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: compare --promote never moved @champion to a better regression model."""
    rng = np.random.default_rng(9)

    def prices(n: int) -> pd.DataFrame:
        sqft = rng.lognormal(7, 0.3, n)
        price = 150 * sqft * rng.lognormal(0, 0.15, n)
        return pd.DataFrame({"sqft": sqft, "price": price, "pred": 150 * sqft,
                             "pred2": 150 * sqft + 0.3 * (price - 150 * sqft)})

    champion, challenger = new_version("prices"), new_version("prices")
    profile = md.build_profile(prices(1500).drop(columns="pred2"), target="price",
                               prediction="pred", task="regression", band_chunks=0)
    for uri in (champion, challenger):
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("prices", "champion", "1")
    args = {"predictions": ["pred", "pred2"], "promote": True, "tracking_uri": tracking_uri}
    first = md.compare(prices(800), ["models:/prices@champion", challenger], **args)
    assert first.paired is not None and first.paired.gain == pytest.approx(0.3, abs=0.02)
    assert first.promotion == [] and "streak 1 of 2" in first.notes[-1]
    second = md.compare(prices(800), ["models:/prices@champion", challenger], **args)
    assert second.promotion == [f"move alias @champion to {challenger}"]
    assert str(client.get_model_version_by_alias("prices", "champion").version) == "2"
    assert registry.resolve(client, challenger).tags[registry.PROMOTED_FROM].startswith(
        "v1: challenger won this window (mae -")
    # history says why @champion moved (before: only the comparison's run id)
    [event] = md.history("prices", tracking_uri=tracking_uri)
    assert event["event"] == f"move alias @champion to {challenger}"
    assert event["run_id"] == second.run_id and event["reason"] == second.notes[-1]
    assert event["reason"].startswith("challenger won this window (mae -")
    assert event["reason"].endswith("streak 2 of 2: @champion moves to v2")
    out = CliRunner().invoke(main, ["history", "prices", "--tracking-uri", tracking_uri])
    assert "challenger won this window (mae -" in out.output, out.output
    # a margin the policy asks for and the challenger misses: no win
    strict = tmp_path / "strict.toml"
    strict.write_text("[promote]\nmin_loss_gain = 0.5\n")
    third = md.compare(prices(800), [champion, challenger], policy=strict, **args)
    assert third.paired is not None and third.paired.gain > 0.2
    assert "challenger did not win this window (mae -" in third.notes[-1]


# --- trial 4: two registered models compared -------------------------------------

def test_versions_of_two_models_compare_without_touching_another_version(
        tracking_uri: str, profiled: str, new_version: Callable[..., str]) -> None:
    """Before: the challenger's streak tags were written to the champion's model's version of
    the challenger's number (here the champion itself, churn v1, for churn-xgb v1), and a won
    streak would have moved churn's @champion to it."""
    from conftest import reference_profile, registry_snapshot

    other = new_version("churn-xgb")
    md.attach_profile(other, reference_profile(), tracking_uri=tracking_uri)
    window = make_frame(4000, 10)
    window["score_new"] = np.clip(window.label * 0.35 + window.score * 0.65, 0, 1)
    before = registry_snapshot(tracking_uri)
    result = md.compare(window, [profiled, other], predictions=["score", "score_new"],
                        tracking_uri=tracking_uri)
    assert result.delong is not None and result.delong.diff > 0.01 and result.run_id
    after = registry_snapshot(tracking_uri)
    assert after["version tags"] == before["version tags"]  # the comparison run only
    assert after["runs"] == before["runs"] + 1
    assert result.notes[-1] == ("no promotion streak: 'churn' and 'churn-xgb' are two "
                                "registered models")


def test_a_degraded_challenger_is_not_promoted(tracking_uri: str,
                                              two_versions: tuple[str, str]) -> None:
    """Before: a challenger whose own windows had degraded it won two comparisons and was
    given @champion: a degraded version serving, which the policy takes @champion off."""
    _, challenger = two_versions
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    client.set_model_version_tag("churn", "2", registry.STATUS, "degraded")
    args = {"predictions": ["score", "score_new"], "promote": True, "tracking_uri": tracking_uri}
    results = []
    for seed in (11, 12):
        w = make_frame(4000, seed)
        w["score_new"] = np.clip(w.label * 0.35 + w.score * 0.65, 0, 1)
        results.append(md.compare(w, ["models:/churn@champion", challenger], **args))
    assert results[-1].promotion == []
    assert results[-1].notes[-1].endswith(
        "streak 2 of 2; @champion not moved: v2 is degraded (restore it first)")
    assert str(client.get_model_version_by_alias("churn", "champion").version) == "1"
    assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:2"


def test_a_versions_history_shows_the_promotion_that_gave_it_the_alias(
        tracking_uri: str, two_versions: tuple[str, str]) -> None:
    """Before: ``history models:/churn/2`` left out the comparison that moved @champion to it,
    and the model's history named no version for that alias move ("-")."""
    _, challenger = two_versions
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    args = {"predictions": ["score", "score_new"], "promote": True, "tracking_uri": tracking_uri}
    for seed in (11, 12):
        w = make_frame(4000, seed)
        w["score_new"] = np.clip(w.label * 0.35 + w.score * 0.65, 0, 1)
        last = md.compare(w, ["models:/churn@champion", challenger], **args)
    moved = {"event": "move alias @champion to models:/churn/2", "version": "2",
             "run_id": last.run_id}
    for model in (challenger, "models:/churn@champion", "churn", "models:/churn/1"):
        events = md.history(model, tracking_uri=tracking_uri)  # v1's: the alias it lost
        assert [{k: e[k] for k in moved} for e in events] == [moved], model


def test_a_comparison_of_two_aliases_on_one_version_says_why(tracking_uri: str,
                                                              profiled: str) -> None:
    # after a promotion both aliases name the promoted version: a scheduled comparison failed
    # with "the same version" and no hint of how that came about
    client = registry.client_for(tracking_uri)
    for alias in ("champion", "challenger"):
        client.set_registered_model_alias("churn", alias, "1")
    with pytest.raises(md.DataError, match=r"are the same version \(v1\) with the same outputs "
                       r"\(a promoted challenger keeps @challenger until another version "
                       r"takes it\)"):
        md.compare(make_frame(500, 3), ["models:/churn@champion", "models:/churn@challenger"],
                   tracking_uri=tracking_uri)


def test_delongs_rows_are_those_both_versions_scored_and_it_says_so(
        tracking_uri: str, profiled: str) -> None:
    """Trial 5: with some of the champion's scores missing (a nullable Float64
    column with pd.NA), compare.diff.perf.roc_auc (each side on its own rows) and
    compare.diff.roc_auc (DeLong's, on the rows both scored) differed, with nothing to say why."""
    window = make_frame(2000, 3).assign(
        new=lambda f: np.clip(f.score + np.random.default_rng(4).normal(0, 0.1, len(f)), 0, 1))
    window["score"] = window["score"].astype("Float64").mask(window.index < 100)
    result = md.compare(window, [profiled, profiled], predictions=["score", "new"], log=False,
                        tracking_uri=tracking_uri)
    both = window.index >= 100
    y, a, b = (window.loc[both, c].to_numpy(dtype=float) for c in ("label", "score", "new"))
    assert result.delong is not None
    assert result.delong.auc == (pytest.approx(roc_auc_score(y, a)), pytest.approx(roc_auc_score(y, b)))
    diff, se = _brute_force(y, a, b)
    assert result.delong.diff == pytest.approx(diff) and result.delong.se == pytest.approx(se)
    assert result.metrics["compare.v1_2.perf.roc_auc"] == pytest.approx(
        roc_auc_score(window["label"], window["new"]))
    assert ("DeLong's test reads the 1,900 labelled rows both versions scored: 100 with a missing "
            "or infinite score of one are left out (each version's perf.* reads the rows it "
            "scored)") in result.notes


def test_a_comparison_says_when_the_versions_decide_differently(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Trial 6: a champion deciding by its decision column at 0.3 and a challenger
    at the default 0.5 showed an accuracy difference of 0.05 as if of the models alone."""
    champion, challenger = new_version(), new_version()
    reference = make_frame(2000, 1).assign(decision=lambda f: (f.score >= 0.3).astype(int))
    md.attach_profile(champion, md.build_profile(reference, target="label", prediction="score",
                                                 threshold=0.3, predicted_label="decision",
                                                 band_chunks=0), tracking_uri=tracking_uri)
    md.attach_profile(challenger, frame_profile(2000, 1, target="label", prediction="score",
                                                band_chunks=0), tracking_uri=tracking_uri)
    window = make_frame(1500, 3).assign(decision=lambda f: (f.score >= 0.3).astype(int))
    result = md.compare(window, [champion, challenger], log=False, tracking_uri=tracking_uri)
    assert ("accuracy, precision, recall and F1 are each version's at its own decision (v1: "
            "threshold 0.3, realized by column 'decision'; v2: threshold 0.5): their "
            "differences are of the decisions as well as of the models") in result.notes
    assert result.metrics["compare.diff.perf.accuracy"] == pytest.approx(
        np.mean((window.score >= 0.5) == window.label)
        - np.mean(window.decision == window.label))
    third = new_version()
    md.attach_profile(third, frame_profile(2000, 1, target="label", prediction="score",
                                           band_chunks=0), tracking_uri=tracking_uri)
    same = md.compare(window, [challenger, third], log=False, tracking_uri=tracking_uri)
    assert not any("own decision" in n for n in same.notes)


def test_print_and_a_notebook_show_a_comparison_as_the_cli_does(
        tracking_uri: str, two_versions: tuple[str, str]) -> None:
    """Trial 6: ``print(cmp)`` and a notebook showed the dataclass's one line of
    every field, DeLong's test as a nested repr."""
    champion, challenger = two_versions
    result = md.compare(make_frame(2000, 3), [champion, challenger], log=False,
                        tracking_uri=tracking_uri)
    lines = str(result).splitlines()
    assert re.fullmatch(rf"metric\s+{result.labels[0]}\s+{result.labels[1]}\s+diff", lines[0])
    assert lines[1].split() == ["window", "verdict", *result.statuses]
    d = result.delong
    assert d is not None and (f"DeLong: AUC difference {d.diff:+.4f} (95% CI {d.lower:+.4f} to "
                              f"{d.upper:+.4f}), p = {d.p_value:.3g}") in lines
    assert lines[-1] == "not logged"
    shown: list[str] = []

    class Printer:  # IPython's pretty printer, as a notebook calls it
        def text(self, value: str) -> None:
            shown.append(value)

    result._repr_pretty_(Printer(), False)
    assert shown == [str(result)] and repr(result).startswith("Comparison(models=")


def test_a_comparison_keeps_what_each_side_noted_about_the_window(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Trial 6: a comparison dropped its sides' notes, so a champion whose scores
    were probabilities read as logits, or a metric left out, went unsaid."""
    champion, challenger = new_version(), new_version()
    reference = make_frame(2000, 1)
    md.attach_profile(champion, md.build_profile(
        reference.assign(score=np.log(reference.score / (1 - reference.score))), target="label",
        prediction="score", prediction_kind="logit", band_chunks=0), tracking_uri=tracking_uri)
    md.attach_profile(challenger, frame_profile(2000, 1, target="label", prediction="score",
                                                band_chunks=0), tracking_uri=tracking_uri)
    window = make_frame(1500, 3).assign(label=1)  # probabilities for both; one label class
    result = md.compare(window, [champion, challenger], log=False, tracking_uri=tracking_uri)
    assert any(n.startswith("v1: every output in 'score' lies in [0, 1]") for n in result.notes)
    assert "both: perf.roc_auc left out: labels have a single class" in result.notes
    assert not any("estimated without labels" in n for n in result.notes)


# trial 7 (helper 7B): two 8-class models, each profiled on its own scoring job's p_<class>
def test_two_versions_reading_the_same_output_columns_are_named_in_a_note(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a challenger profiled on columns named as the champion's (p_a, p_b, p_c from
    its own scoring job) was judged on the champion's outputs in the window: the same
    realized metrics, another verdict, and nothing said the two sides read one model."""
    rng = np.random.default_rng(5)

    def cards(n: int, sharp: float) -> pd.DataFrame:
        y = rng.choice(["a", "b", "c"], n)
        x = rng.normal(0, 1, n) + (y == "b") + 2 * (y == "c")
        logits = sharp * np.stack([0 * x, x, 2 * x - 1], axis=1)
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return pd.DataFrame({"x": x, "y": y, "p_a": p[:, 0], "p_b": p[:, 1], "p_c": p[:, 2]})

    champion, challenger = new_version("cards"), new_version("cards")
    for uri, sharp in ((champion, 1.0), (challenger, 2.0)):
        md.attach_profile(uri, md.build_profile(cards(2000, sharp), target="y",
                                                prediction=["p_a", "p_b", "p_c"],
                                                task="multiclass", band_chunks=0),
                          tracking_uri=tracking_uri)
    window = cards(1000, 1.0)  # the champion's outputs only
    result = md.compare(window, [champion, challenger], log=False, tracking_uri=tracking_uri)
    m = result.metrics
    assert m["compare.v1.perf.accuracy"] == m["compare.v2.perf.accuracy"]
    assert result.notes[0].startswith(
        "both versions read their outputs from the same column(s), 'p_a', 'p_b', 'p_c': the "
        "window holds one model's outputs")
    window["q"] = window["p_b"]
    binary = [new_version("churn"), new_version("churn")]
    for uri in binary:
        md.attach_profile(uri, frame_profile(2000, 1, target="label", prediction="score",
                                             band_chunks=0), tracking_uri=tracking_uri)
    frame = make_frame(1000, 2).assign(other=lambda f: f.score)
    same = md.compare(frame, binary, log=False, tracking_uri=tracking_uri)
    assert "give each version its own column (--predictions, predictions=)" in same.notes[0]
    apart = md.compare(frame, binary, predictions=["score", "other"], log=False,
                       tracking_uri=tracking_uri)
    assert not any(n.startswith("both versions read") for n in apart.notes)


# --- trial 9: multiclass and regression comparisons checked by a user -------------

def test_a_challenger_giving_a_label_no_probability_is_scored_as_sklearns_log_loss(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a row's probability of its label was clipped at 1e-15, so a k-nearest-neighbours
    challenger (probability 0 for the label on a few rows) had a mean log loss ~3% under
    scikit-learn's log_loss (which clips at the machine epsilon): the difference and the
    share saved that decide a promotion were off by more than the 2% margin."""
    rng = np.random.default_rng(5)
    champion, challenger, reference = _cards_champion(rng, tracking_uri, new_version)
    window = _cards(1200, rng)
    truth = window[["p_a", "p_b", "p_c"]].to_numpy()
    votes = np.round(truth * 5) + 0.0  # five neighbours' votes: zeros, some on the label
    votes[votes.sum(axis=1) == 0] = 1.0
    knn = votes / votes.sum(axis=1, keepdims=True)
    window["q_a"], window["q_b"], window["q_c"] = knn.T
    labels = ["a", "b", "c"]
    picked = knn[np.arange(len(window)), (window.y.to_numpy()[:, None] == labels).argmax(1)]
    assert (picked == 0).sum() >= 5
    md.attach_profile(challenger, md.build_profile(
        reference.rename(columns={"p_a": "q_a", "p_b": "q_b", "p_c": "q_c"}), target="y",
        prediction=["q_a", "q_b", "q_c"], task="multiclass", band_chunks=0),
        tracking_uri=tracking_uri)
    result = md.compare(window, [champion, challenger], log=False, tracking_uri=tracking_uri)
    assert result.paired is not None and result.paired.rows == len(window)
    assert result.paired.mean == pytest.approx(
        (log_loss(window.y, truth, labels=labels), log_loss(window.y, knn, labels=labels)),
        rel=1e-12)
    rows = [np.array([log_loss([t], [p], labels=labels) for t, p in zip(window.y, probs,
                                                                         strict=True)])
            for probs in (truth, knn)]
    expected = ttest_rel(rows[1], rows[0])
    assert result.paired.diff == pytest.approx(float(np.mean(rows[1] - rows[0])), rel=1e-12)
    assert result.paired.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_a_challenger_better_by_less_than_the_margin_is_told_the_margin(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: a challenger 1% better with p = 1e-100 read "did not win this window (mae -1.0%
    ..., p = ...)", not saying that [promote] min_loss_gain asks for 2%."""
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, 3000)
    y = 3 * x + rng.normal(0, 1, 3000)
    frame = pd.DataFrame({"x": x, "y": y, "pred": 3 * x})
    frame["pred2"] = frame.pred + 0.01 * (frame.y - frame.pred)  # every error 1% smaller
    champion, challenger = new_version("close"), new_version("close")
    profile = md.build_profile(frame[:1000].drop(columns="pred2"), target="y", prediction="pred",
                               task="regression", band_chunks=0)
    for uri in (champion, challenger):
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    window = frame[1000:]
    args: dict[str, object] = {"predictions": ["pred", "pred2"], "log": False,
                               "tracking_uri": tracking_uri}
    result = md.compare(window, [champion, challenger], **args)  # type: ignore[arg-type]
    errors = [(window.y - window[c]).abs() for c in ("pred", "pred2")]
    assert result.paired is not None
    assert result.paired.gain == pytest.approx(1 - errors[1].mean() / errors[0].mean())
    assert result.paired.p_value == pytest.approx(ttest_rel(errors[1], errors[0]).pvalue)
    assert 0.009 < result.paired.gain < 0.011 and result.paired.p_value < 1e-50
    assert ("challenger did not win this window (mae -1.0% (" in result.notes[-1]
            and "; a win needs mae -2.0% or lower with p < 0.05); streak 0 of 2"
            in result.notes[-1])
    loose = tmp_path / "loose.toml"
    loose.write_text("[promote]\nmin_loss_gain = 0.005\nmax_p_value = 0.01\n")
    won = md.compare(window, [champion, challenger], policy=loose, **args)  # type: ignore[arg-type]
    assert "challenger won this window (mae -1.0%" in won.notes[-1]
    assert "a win needs" not in won.notes[-1] and "streak 1 of 2" in won.notes[-1]


def _better_challenger(name: str, seed: int, tracking_uri: str,
                       new_version: Callable[..., str]
                       ) -> tuple[Callable[[int], pd.DataFrame], str, Any]:
    """Versions 1 (@champion) and 2 of regression model ``name``, profiled on one reference;
    a maker of windows of ``n`` rows where the challenger's ``pred2`` errs far less than the
    champion's ``pred``; the challenger's URI and a client."""
    rng = np.random.default_rng(seed)

    def window(n: int) -> pd.DataFrame:
        x = rng.normal(0, 1, n)
        y = 2 * x + rng.normal(0, 1, n)
        return pd.DataFrame({"x": x, "y": y, "pred": 2 * x + rng.normal(0, 1, n),
                             "pred2": 2 * x + rng.normal(0, 0.2, n)})

    champion, challenger = new_version(name), new_version(name)
    profile = md.build_profile(window(1000).drop(columns="pred2"), target="y",
                               prediction="pred", task="regression", band_chunks=0)
    for uri in (champion, challenger):
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias(name, "champion", "1")
    return window, challenger, client


def test_a_window_compared_before_its_labels_came_does_not_break_the_streak(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a window compared before its labels came (no paired test) set the streak to 0,
    and the same rows compared again with their labels (another fingerprint) counted as a
    first win: a challenger that won two windows in a row was not promoted."""
    window, challenger, client = _better_challenger("late", 3, tracking_uri, new_version)
    args: dict[str, object] = {"predictions": ["pred", "pred2"], "promote": True,
                               "tracking_uri": tracking_uri}
    models = ["models:/late@champion", challenger]
    first = md.compare(window(600), models, **args)  # type: ignore[arg-type]
    assert "streak 1 of 2" in first.notes[-1]
    second = window(600)
    early = md.compare(second.drop(columns="y"), models, **args)  # type: ignore[arg-type]
    assert early.paired is None and early.promotion == []
    assert early.notes[-1] == ("no promotion: the paired test of the losses needs labels on the "
                               "window; the streak stays at 1 of 2 (a window without the test "
                               "does not count)")
    assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:1"
    labelled = md.compare(second, models, **args)  # type: ignore[arg-type]
    assert labelled.paired is not None and labelled.paired.p_value < 1e-10
    assert labelled.promotion == [f"move alias @champion to {challenger}"]
    assert str(client.get_model_version_by_alias("late", "champion").version) == "2"


def test_an_earlier_window_of_the_streak_compared_again_does_not_count_twice(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: only the last window compared was remembered, so a job that compares the last
    few days again each day (their labels come late) counted an earlier window of the streak
    a second time: two windows won, and @champion moved at "streak 3 of 3"."""
    window, challenger, client = _better_challenger("days", 8, tracking_uri, new_version)
    policy = tmp_path / "three.toml"
    policy.write_text("[promote]\nwindows = 3\n")
    days = {day: window(500) for day in ("01", "02", "03")}

    def compare(day: str) -> md.Comparison:
        return md.compare(days[day], ["models:/days@champion", challenger], policy=policy,
                          predictions=["pred", "pred2"], promote=True, tracking_uri=tracking_uri,
                          window_start=f"2026-05-{day}", window_end=f"2026-05-{day}T23:59")

    assert "streak 1 of 3" in compare("01").notes[-1]
    assert "streak 2 of 3" in compare("02").notes[-1]
    again = compare("01")  # the job's lookback: day 1 again
    assert again.promotion == [] and "streak 2 of 3 (this window was compared before" in (
        again.notes[-1])
    assert "streak 2 of 3 (this window was compared before" in compare("02").notes[-1]
    assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:2"
    assert str(client.get_model_version_by_alias("days", "champion").version) == "1"
    last = compare("03")
    assert last.promotion == [f"move alias @champion to {challenger}"], last.notes
    assert "streak 3 of 3" in last.notes[-1]


def test_versions_profiled_without_outputs_compare_on_their_drift_without_a_paired_test(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a labelled window of two versions profiled on their features and labels only
    (no prediction column) raised an IndexError out of the paired test."""
    uris = [new_version(), new_version()]
    for uri in uris:
        md.attach_profile(uri, frame_profile(2000, 1, target="label", band_chunks=0),
                          tracking_uri=tracking_uri)
    result = md.compare(make_frame(1000, 10, shift=1.0), uris, log=False,
                        tracking_uri=tracking_uri)
    assert result.delong is None and result.paired is None
    assert "compare.diff.drift.share" in result.metrics
    assert ("the paired test needs both versions' model outputs: the profile of v1 and v2 has "
            "no prediction column") in result.notes[-1]


def test_compare_json_says_whether_the_promotion_listed_was_made(
        tracking_uri: str, two_versions: tuple[str, str], tmp_path: Path) -> None:
    # the text says "promotion (would)" for a dry run; the JSON listed the same move with no
    # word that it was not made
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    window = make_frame(4000, 7)
    noise = np.random.default_rng(7).normal(0, 0.05, 4000)
    window["score_new"] = np.clip(window.label * 0.35 + window.score * 0.65 + noise, 0, 1)
    window.to_parquet(tmp_path / "w.parquet")
    (tmp_path / "p.toml").write_text("[promote]\nwindows = 1\n")
    args = ["compare", "models:/churn@champion", two_versions[1], "--data",
            str(tmp_path / "w.parquet"), "--predictions", "score,score_new", "--promote",
            "--policy", str(tmp_path / "p.toml"), "--tracking-uri", tracking_uri, "--json"]
    for extra, made in ((["--dry-run"], False), (["--no-log"], False), ([], True)):
        out = CliRunner().invoke(main, [*args, *extra])
        assert out.exit_code == 0, out.output
        printed = json.loads(out.stdout)
        assert printed["promotion"] == [f"move alias @champion to {two_versions[1]}"]
        assert printed["applied"] is made
        champion = client.get_model_version_by_alias("churn", "champion").version
        assert str(champion) == ("2" if made else "1")


def test_two_versions_reading_one_decision_column_are_told_their_accuracy_is_one(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    # both profiled on a reference whose decisions are in 'decision': --predictions gives the
    # challenger its own scores, but its accuracy was still the champion's decisions', and
    # the table showed an accuracy difference of 0 with no word why
    reference = make_frame(3000, 1)
    reference["decision"] = (reference.score >= 0.5).astype(int)
    profile = md.build_profile(reference, target="label", prediction="score",
                               predicted_label="decision", band_chunks=0)
    champion, challenger = new_version(), new_version()
    for uri in (champion, challenger):
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    window = make_frame(2000, 5)
    window["decision"] = (window.score >= 0.5).astype(int)
    noise = np.random.default_rng(5).normal(0, 0.05, 2000)
    window["score_new"] = np.clip(window.label * 0.35 + window.score * 0.65 + noise, 0, 1)
    result = md.compare(window, [champion, challenger], predictions=["score", "score_new"],
                        log=False, tracking_uri=tracking_uri)
    assert result.metrics["compare.diff.perf.accuracy"] == 0
    assert any("decisions in one column, 'decision'" in n for n in result.notes), result.notes
    assert result.metrics["compare.diff.perf.roc_auc"] == pytest.approx(
        roc_auc_score(window.label, window.score_new) - roc_auc_score(window.label, window.score))
