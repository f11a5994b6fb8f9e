"""Issue 11, item 15 and inputs: defaults as documented, what becomes a feature, policies that
cannot match, nested and integer-named columns, the HTML report, TOML that reads back."""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.core.policy_file import DEFAULT_POLICY, load_policy

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)

README = Path(__file__).resolve().parents[2] / "README.md"


# -- the default policy is what the README and the demo say --------------------------------------
def test_default_policy_removes_champion_from_a_degraded_version_as_documented(
        tracking_uri: str, profiled: str) -> None:
    assert DEFAULT_POLICY.remove_aliases == ("champion",)
    assert 'remove_aliases = ["champion"]' in README.read_text()
    from mlflow_decay import demo

    assert "remove_aliases=" not in Path(demo.__file__).read_text()  # the demo uses the default's
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", profiled.rsplit("/", 1)[1])
    for seed in (3, 4):  # degrade_after = 2 breaching windows
        report = md.evaluate(profiled, make_frame(3000, seed, shift=1.5, flip=0.3),
                             tracking_uri=tracking_uri)
    assert report.status == "degraded"
    assert f"remove alias @champion from {profiled}" in report.actions
    assert "champion" not in registry.resolve(client, profiled).aliases


# -- what becomes a feature ----------------------------------------------------------------------
def _with_extras(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return make_frame(n, 1).assign(customer_id=np.arange(n), other_model_score=rng.random(n),
                                   churn_label=rng.integers(0, 2, n))


def test_profile_says_what_became_features_and_notes_columns_that_look_like_labels_or_ids() -> None:
    profile = md.build_profile(_with_extras(), target="label", prediction="score", band_chunks=0)
    assert profile.feature_kinds == {"x1": "numerical", "x2": "numerical", "color": "categorical",
                                     "level": "categorical", "customer_id": "numerical",
                                     "other_model_score": "numerical",
                                     "churn_label": "categorical"}
    flagged = {re.match(r"column '([^']+)'", n).group(1): n for n in profile.notes}  # type: ignore[union-attr]
    assert set(flagged) == {"customer_id", "other_model_score", "churn_label"}
    assert "looks like an id" in flagged["customer_id"]
    assert "looks like a model output" in flagged["other_model_score"]
    assert "looks like a label" in flagged["churn_label"]
    # the notes are not part of the stored profile (its hash does not depend on them)
    assert "looks like" not in profile.to_json().decode()


def test_a_date_column_left_out_of_the_features_gets_a_note_in_memory_and_streamed(
        tmp_path: Path) -> None:
    frame = make_frame(600, 1).assign(
        signup=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(600), unit="D"),
        seen=pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(600), unit="h"))
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path)
    for source in (frame, path):
        profile = md.build_profile(source, target="label", prediction="score",
                                   timestamp_column="seen", band_chunks=0)
        assert "signup" not in profile.features
        assert [n[:60] for n in profile.notes] == [
            "column 'signup' holds dates or durations, which are not feat"]  # not the timestamp
        assert "its drift is not watched" in profile.notes[0]
    assert not md.build_profile(frame, target="label", prediction="score", exclude=["signup"],
                                timestamp_column="seen", band_chunks=0).notes


def test_exclude_leaves_columns_out_in_memory_and_streamed(tmp_path: Path) -> None:
    frame = _with_extras()
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path)
    drop = ["customer_id", "other_model_score", "churn_label"]
    for source in (frame, path):
        profile = md.build_profile(source, target="label", prediction="score", exclude=drop,
                                   band_chunks=0)
        assert list(profile.features) == ["x1", "x2", "color", "level"] and not profile.notes
    with pytest.raises(md.DataError, match="column 'nope' is missing from the reference"):
        md.build_profile(frame, exclude=["nope"])


def test_cli_profile_lists_the_features_and_takes_exclude(tracking_uri: str,
                                                          new_version: Callable[..., str],
                                                          tmp_path: Path) -> None:
    uri = new_version()
    data = tmp_path / "ref.csv"
    _with_extras().to_csv(data, index=False)
    result = CliRunner().invoke(main, ["profile", uri, "--data", str(data), "--target", "label",
                                       "--prediction", "score", "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
    assert "features: x1 (numerical), x2 (numerical), color (categorical)" in result.stdout
    assert "mlflow-decay: note: column 'customer_id' became a numerical feature but looks like "\
           "an id" in result.stderr
    result = CliRunner().invoke(main, ["profile", uri, "--data", str(data), "--target", "label",
                                       "--prediction", "score", "--exclude",
                                       "customer_id, other_model_score,churn_label", "--json",
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
    assert "customer_id" not in result.stdout and "note:" not in result.stderr
    assert sorted(md.load_profile(uri, tracking_uri=tracking_uri).features) == [
        "color", "level", "x1", "x2"]


@pytest.mark.parametrize(("options", "message"), [
    ({"categorical": ["colour"]}, "column 'colour' is missing from the reference"),
    ({"numerical": ["x9"]}, "column 'x9' is missing from the reference"),
    ({"numerical": ["label"]}, "column 'label' is listed as numerical but is not a feature "
                               "(it is the label column)"),
    ({"features": ["x1"], "categorical": ["color"]},
     "column 'color' is listed as categorical but is not a feature (features does not name it)"),
    ({"exclude": ["level"], "categorical": ["level"]},
     "column 'level' is listed as categorical but is not a feature (it is excluded)"),
    ({"timestamp_column": "color"}, "column 'color': expected timestamps"),
    ({"features": ["x1", "label"]}, "column 'label' is the label column; it cannot also be a "
                                    "feature"),
    ({"id_column": "label"}, "column 'label' is named as both the label column and the id column"),
], ids=["absent categorical", "absent numerical", "forced kind on the label",
        "forced kind outside features", "forced kind on an excluded column", "text timestamps",
        "the label as a feature", "the label as the id"])
def test_profile_refuses_options_naming_the_wrong_columns(options: dict[str, object],
                                                          message: str, tmp_path: Path) -> None:
    frame = make_frame(400, 1)
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path)
    for source in (frame, path):  # in memory and streamed
        with pytest.raises(md.DataError) as caught:
            md.build_profile(source, target="label", prediction="score", **options)  # type: ignore[arg-type]
        assert message in str(caught.value) and "\n" not in str(caught.value)


def test_text_timestamps_order_the_reference_bands_as_times() -> None:
    frame = make_frame(3000, 1)
    # written with two offsets: as text, "…T05:00+05:00" sorts after "…T01:00Z" though it is earlier
    times = pd.date_range("2026-01-01", periods=3000, freq="min", tz="UTC")
    text = [t.tz_convert("Asia/Karachi").isoformat() if i % 2 else t.isoformat()
            for i, t in enumerate(times)]
    shuffled = frame.assign(ts=text).sample(frac=1, random_state=0)
    ordered = frame.assign(ts=times)
    a = md.build_profile(shuffled, target="label", prediction="score", timestamp_column="ts")
    b = md.build_profile(ordered, target="label", prediction="score", timestamp_column="ts")
    assert a.bands == b.bands


# -- policies ------------------------------------------------------------------------------------
TYPOS = ["perf.roc_aux.delta", "drift.share.x", "est.accuracy.upper.delta", "drift.x1.psy",
         "est.log_loss", "quality.x1.psi", "perf.*.lower", "drift." + "x" * 300 + ".psi"]


@pytest.mark.parametrize("pattern", TYPOS)
def test_rules_no_metric_can_match_are_refused_naming_the_rule(pattern: str,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[thresholds]\n"{pattern}" = {{ warn = 0.1 }}\n')
    with pytest.raises(md.PolicyError) as caught:
        load_policy(path)
    text = str(caught.value)
    assert f"threshold {pattern!r}: unknown metric name" in text and "\n" not in text
    assert "known: drift.share" in text and "perf: roc_auc" in text


@pytest.mark.parametrize("pattern", [
    "drift.*.psi", "quality.*", "perf.*.delta", "est.roc_auc*", "drift.[ab]ge.js", "business.*",
    "labels.coverage", "impact.predictions_since_breach", "drift.x1.psi", "est.mae.upper",
    "quality.prediction.missing_rate", "*"])
def test_rules_that_can_match_a_metric_are_accepted(pattern: str, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[thresholds]\n"{pattern}" = {{ warn = 0.5 }}\n')
    assert load_policy(path).rule_for(pattern) is not None


def test_negative_drift_thresholds_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[drift]\nnumerical = { threshold = -0.1 }\n")
    with pytest.raises(md.PolicyError, match=r"\[drift\] numerical threshold must be >= 0"):
        load_policy(path)


def test_a_rule_naming_a_column_the_profile_lacks_is_noted(tracking_uri: str, profiled: str,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[thresholds]\n"drift.x3.psi" = { warn = 0.1 }\n"drift.x1.psi" = { warn = 9 }\n')
    report = md.evaluate(profiled, make_frame(500, 2), policy=path, log=False,
                         tracking_uri=tracking_uri)
    assert [n for n in report.notes if n.startswith("policy rule")] == [
        "policy rule 'drift.x3.psi' names no column of this profile ('x3'): it never applies"]


HOSTILE = ['say "hi"', "back\\slash", 'both \\" mixed', "tab\tnew\nline", "ünïcødé ✓",
           "del\x7fchar", "\\u0041 not an escape"]


def test_policy_show_is_toml_that_reads_back_with_hostile_strings(tmp_path: Path) -> None:
    rule = DEFAULT_POLICY.rules[0]
    policy = replace(
        DEFAULT_POLICY, source='dir "x"\nnext',
        rules=(*DEFAULT_POLICY.rules,
               *(replace(rule, pattern=f"business.{s}") for s in HOSTILE),
               replace(rule, pattern='drift.we"ird\\name.psi')),
        remove_aliases=tuple(HOSTILE), rollback_aliases=('a"b',), business=tuple(HOSTILE),
        promote_alias='ch"amp\\ion')
    text = policy.to_toml()
    tomllib.loads(text)  # valid TOML
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    back = load_policy(path)
    assert back.to_dict() == policy.to_dict()
    assert back.remove_aliases == tuple(HOSTILE) and back.business == tuple(HOSTILE)
    result = CliRunner().invoke(main, ["policy", "show", "--policy", str(path)])
    assert result.exit_code == 0
    assert tomllib.loads(result.stdout) == tomllib.loads(text)  # the same policy printed


# -- nested Parquet columns ----------------------------------------------------------------------
def _nested(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.assign(**{column: [[i, i + 1] for i in range(len(frame))]})


def test_nested_feature_columns_are_refused_by_name_in_profile(tmp_path: Path) -> None:
    frame = _nested(make_frame(400, 1), "tags")
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path)
    for source in (frame, pd.read_parquet(path), path):
        with pytest.raises(md.DataError, match=r"column 'tags' holds nested values \(lists, "
                                               r"structs or maps\): it cannot be a feature"):
            md.build_profile(source, target="label", prediction="score")
        profile = md.build_profile(source, target="label", prediction="score", exclude=["tags"],
                                   band_chunks=0)
        assert "tags" not in profile.features
    struct = make_frame(400, 1).assign(meta=[{"a": i} for i in range(400)])
    with pytest.raises(md.DataError, match="column 'meta' holds nested values"):
        md.build_profile(struct, target="label", prediction="score")


def test_nested_feature_columns_are_refused_in_evaluate(tracking_uri: str, profiled: str,
                                                        tmp_path: Path) -> None:
    window = _nested(make_frame(300, 2), "x1")
    path = tmp_path / "w.parquet"
    window.to_parquet(path)
    before = registry_snapshot(tracking_uri)
    for source in (window, path):  # in memory and streamed
        with pytest.raises(md.DataError, match="column 'x1' holds nested values"):
            md.evaluate(profiled, source, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before


def test_nested_extra_columns_are_ignored_with_a_note(tracking_uri: str, profiled: str) -> None:
    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.core.window import merge_stats, window_stats
    from mlflow_decay.engines.partials import Sample, finish_window

    profile = md.load_profile(profiled, tracking_uri=tracking_uri)
    window = _nested(make_frame(600, 2), "tags").assign(meta=[{"k": 1}] * 600)
    note = "extra column(s) 'tags', 'meta' hold nested values (lists, structs or maps): ignored"
    result = evaluate_window(profile, window)
    assert note in result.notes and result.extra_columns == ["tags", "meta"]
    # read in batches: the batches' statistics merge, the note with them
    stats = merge_stats([window_stats(profile, part) for part in (window[:300], window[300:])])
    assert note in finish_window(profile, stats, Sample()).notes


def test_nested_extra_columns_through_the_api(tracking_uri: str, profiled: str,
                                              tmp_path: Path) -> None:
    window = _nested(make_frame(600, 2), "tags")
    path = tmp_path / "w.parquet"
    window.to_parquet(path)
    for source in (window, path):
        report = md.evaluate(profiled, source, tracking_uri=tracking_uri, force=True)
        assert any("'tags' hold nested values" in n for n in report.notes)


# -- integer column labels -----------------------------------------------------------------------
def test_integer_column_labels_are_refused_naming_the_column(tracking_uri: str,
                                                             profiled: str) -> None:
    numbers = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)))
    with pytest.raises(md.DataError) as caught:
        md.build_profile(numbers)
    assert str(caught.value).startswith("column 0 of the reference has a label of type int, "
                                        "not a string")
    window = make_frame(300, 2)
    window.columns = [*window.columns[:-1], 7]
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match="column 7 of the window has a label of type int"):
        md.evaluate(profiled, window, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before
    # named by strings, the same numbers profile and evaluate
    named = numbers.set_axis(numbers.columns.astype(str), axis=1)
    assert list(md.build_profile(named, band_chunks=0).features) == ["0", "1", "2"]


# -- the HTML report -----------------------------------------------------------------------------
def test_html_report_lists_every_feature_with_its_drift_and_quality(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    reference = make_frame(3000, 1).rename(columns={"x1": "a.b", "x2": "income (k$)"})
    uri = new_version()
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score"),
                      tracking_uri=tracking_uri)
    window = make_frame(2000, 2, shift=1.0).rename(columns={"x1": "a.b", "x2": "income (k$)"})
    window.loc[:199, "a.b"] = np.nan
    report = md.evaluate(uri, window, tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    local = Path(client.download_artifacts(report.run_id, "decay_report.html", str(tmp_path)))
    page = local.read_text()
    table = page.split('id="drift"')[1].split("</table>")[0]
    for name in ("a.b", "income (k$)", "color", "level"):
        assert f"<tr><td>{html.escape(name)}</td>" in table
    row = table.split("<tr><td>a.b</td>")[1].split("</tr>")[0]
    assert f"<td>{report.metrics['quality.a.b.missing_rate']:.4g}</td>" in row  # 0.1
    assert f"<td>{report.metrics['quality.a.b.out_of_range_share']:.4g}</td>" in row
    assert "<td>income _k__</td>" in table  # the metric key, where it differs from the name
    assert "missing rate" in table and "out-of-range share" in table


# -- DECIMAL columns (SQL, Spark, Parquet decimal128) are numbers -------------------------------
def _decimal_table(seed: int, shift: float) -> pd.DataFrame:
    """Money amounts, scores, labels and counts as ``decimal.Decimal`` (as pandas reads a
    Parquet ``decimal128`` column or Spark a ``DECIMAL`` one), a float feature beside them."""
    import decimal

    rng = np.random.default_rng(seed)
    score = 1 / (1 + np.exp(-rng.normal(0, 1, 4000)))
    return pd.DataFrame({
        "amount": [decimal.Decimal(f"{v:.2f}") for v in rng.lognormal(3 + shift, 1, 4000)],
        "count": [decimal.Decimal(int(v)) for v in rng.integers(0, 4, 4000)],
        "x": rng.normal(shift, 1, 4000),
        "p": [decimal.Decimal(f"{v:.4f}") for v in score],
        "y": [decimal.Decimal(int(v)) for v in rng.random(4000) < score],
    })


def _as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].astype(float) for c in ("amount", "p")},
                        **{c: frame[c].astype(int) for c in ("count", "y")})


def test_decimal_columns_are_read_as_the_numbers_they_hold(tmp_path: Path) -> None:
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.stats.schema import category_key

    reference, window = _decimal_table(0, 0.0), _decimal_table(1, 0.5)
    path = tmp_path / "reference.parquet"
    pq.write_table(pa.Table.from_pandas(reference, schema=pa.schema([
        ("amount", pa.decimal128(12, 2)), ("count", pa.decimal128(4, 0)), ("x", pa.float64()),
        ("p", pa.decimal128(5, 4)), ("y", pa.decimal128(1, 0))]), preserve_index=False), path)
    as_floats = md.build_profile(_as_floats(reference), target="y", prediction="p")
    for source in (reference, path):  # in memory, and streamed from Parquet
        profile = md.build_profile(source, target="y", prediction="p")
        # an amount is a number (not 4,000 categories); a count of four values a category,
        # as the same integers would be
        assert {k: type(s).__name__ for k, s in profile.features.items()} == {
            "amount": "NumericSummary", "count": "CategoricalSummary", "x": "NumericSummary"}
        assert profile.to_dict()["features"] == as_floats.to_dict()["features"]
    got = evaluate_window(as_floats, window).metrics
    expected = evaluate_window(as_floats, _as_floats(window)).metrics
    assert got.keys() == expected.keys() and got["drift.amount.ks"] > 0.1
    assert all(np.isclose(got[k], expected[k], equal_nan=True) for k in got), got
    # as categories, DECIMAL(5,2) values are the numbers they hold, whatever the scale
    assert [category_key(decimal.Decimal(v)) for v in ("3.00", "2.50", "-1")] == [
        category_key(v) for v in (3, 2.5, -1.0)] == ["3", "2.5", "-1"]


# -- a flag's dtype changes between the reference and a window ------------------------------------
def _flagged(seed: int, n: int = 1500) -> pd.DataFrame:
    frame = make_frame(n, seed)
    return frame.assign(member=np.random.default_rng(seed).random(n) < 0.4)


@pytest.mark.parametrize("stored", ["bool", "int"])
def test_a_flag_stored_as_booleans_or_0_1_keeps_its_categories(stored: str,
                                                               tmp_path: Path) -> None:
    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.engines.dispatch import evaluate_source

    reference, window = _flagged(1), _flagged(2)
    if stored == "int":
        reference["member"] = reference["member"].astype(int)
    profile = md.build_profile(reference, target="label", prediction="score", band_chunks=0)
    assert type(profile.features["member"]).__name__ == "CategoricalSummary"
    flag = window["member"]
    expected = evaluate_window(profile, window.assign(
        member=flag if stored == "bool" else flag.astype(int))).metrics
    # the same flags as 0/1, 1.0/0.0, text and pandas' nullable booleans: the same window
    for other in (flag.astype(int), flag.astype(float), flag.astype("boolean"), flag,
                  flag.map({True: "true", False: "false"}), flag.astype(int).astype(str)):
        got = evaluate_window(profile, window.assign(member=other)).metrics
        assert got["drift.member.unseen_share"] == 0.0, other.dtype
        assert got.keys() == expected.keys()
        assert all(np.isclose(got[k], expected[k], equal_nan=True) for k in got), other.dtype
    # streamed from Parquet as well
    path = tmp_path / "window.parquet"
    window.assign(member=flag.astype(int) if stored == "bool" else flag).to_parquet(path)
    streamed = evaluate_source(profile, path)[0].metrics
    assert streamed["drift.member.unseen_share"] == 0.0
    assert streamed.keys() == expected.keys()
    assert all(np.isclose(streamed[k], expected[k], equal_nan=True) for k in expected)


def test_a_code_held_as_numbers_or_as_their_text_keeps_its_categories() -> None:
    # integer codes in the reference, the same codes as text of floats ("1.0": a feed that
    # met a NaN upstream) in a window: all unseen, drift share and PSI from a dtype change
    from mlflow_decay.core.evaluation import evaluate_window

    profile = md.build_profile(make_frame(3000, 1), target="label", prediction="score",
                               band_chunks=0)
    window = make_frame(1000, 2)
    expected = evaluate_window(profile, window).metrics
    for other in (window["level"].astype(float).map(str), window["level"].astype(str),
                  window["level"].astype(float)):
        got = evaluate_window(profile, window.assign(level=other)).metrics
        assert got["drift.level.unseen_share"] == 0.0, other.iloc[0]
        assert all(np.isclose(got[k], expected[k], equal_nan=True) for k in expected)


def test_codes_written_with_leading_zeros_keep_their_categories_read_from_a_csv(
        tmp_path: Path) -> None:
    """Trial 6: postal codes held as text in the reference ("02139") and read from a window's
    CSV as numbers (2139) were 60 % unseen, PSI 9.8, the feature drifted, without a word."""
    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.engines.dispatch import evaluate_source

    codes = np.array(["02139", "02140", "10001", "94105", "00501"])
    reference = make_frame(3000, 1).assign(zip=codes[np.arange(3000) % 5])
    profile = md.build_profile(reference, target="label", prediction="score", band_chunks=0)
    window = make_frame(1000, 2).assign(zip=codes[np.arange(1000) % 5])
    expected = evaluate_window(profile, window).metrics
    window.to_csv(tmp_path / "w.csv", index=False)
    read, _, _ = evaluate_source(profile, tmp_path / "w.csv", fingerprint=False)
    assert read.metrics["drift.zip.unseen_share"] == 0.0
    assert read.metrics["drift.zip.psi"] == pytest.approx(expected["drift.zip.psi"])
    assert "zip" not in read.drifted_features


def test_categories_written_in_another_case_or_padded_are_named_in_a_note() -> None:
    # "Red" for "red" (or "red ") is unseen, rightly (a model's encoder does not know it
    # either), but the report's reasons named only the drift metrics it moved
    from mlflow_decay.core.evaluation import evaluate_window

    profile = md.build_profile(make_frame(3000, 1), target="label", prediction="score",
                               band_chunks=0)
    window = make_frame(1000, 2)
    assert not [n for n in evaluate_window(profile, window).notes if "written otherwise" in n]
    for written, example in ((window["color"].str.capitalize(), "'Red' are the reference's 'red'"),
                             (window["color"] + " ", "'red ' are the reference's 'red'")):
        result = evaluate_window(profile, window.assign(color=written))
        assert result.metrics["drift.color.unseen_share"] == 1.0
        assert [n for n in result.notes if "written otherwise" in n] == [
            f"column 'color': window values such as {example} written otherwise (case or "
            "surrounding spaces): counted as unseen categories"]


def test_a_date_column_of_date_objects_is_left_out_as_datetimes_are(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Trial 5: a DATE column (Parquet date32, SQL DATE) reads in pandas as objects
    of datetime.date; it became a categorical feature, with no note, whose every later window
    was all unseen categories: drifted in every window (1 feature in 5, drift share 0.2)."""
    import datetime

    import pyarrow as pa

    def dated(rows: int, seed: int, first: datetime.date) -> pd.DataFrame:
        return make_frame(rows, seed).assign(
            signup=[first + datetime.timedelta(days=i % 300) for i in range(rows)])

    frame, window = dated(600, 1, datetime.date(2025, 1, 1)), dated(400, 2, datetime.date(2026, 2, 1))
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path)
    assert pd.read_parquet(path)["signup"].dtype == object  # objects of datetime.date
    arrow = frame.assign(signup=frame["signup"].astype(pd.ArrowDtype(pa.date32())))
    for source in (frame, path, arrow):
        profile = md.build_profile(source, target="label", prediction="score", band_chunks=0)
        assert "signup" not in profile.features
        assert [n[:60] for n in profile.notes] == [
            "column 'signup' holds dates or durations, which are not feat"]
    uri = new_version()
    md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    report = md.evaluate(uri, window, log=False, tracking_uri=tracking_uri)
    assert "signup" not in report.drifted_features and report.metrics["drift.share"] == 0.0
