"""Late labels and model outputs in the shapes real teams have them (trial 19b): labels as
text, decisions that are no class, ids written as decimals; realized metrics checked against
scikit-learn on exactly the rows joined."""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import frame_profile, make_frame
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.stats.schema import category_key


def _regression_rows(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)], "x": x,
                         "y": 2 * x + rng.normal(0, 0.5, n), "yhat": 2 * x})


def test_regression_labels_as_text_are_numbers_and_a_refused_batch_changes_nothing(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a regression's labels sent as text (a DataFrame read from a text export) were
    stored on the window run as text; a batch holding a blank was refused only after its
    labels were stored, and every later batch (numbers) then failed with pyarrow's
    ArrowInvalid traceback: the window could never take labels again."""
    uri = new_version()
    md.attach_profile(uri, md.build_profile(_regression_rows(1000, 1, "r"), target="y",
                                            prediction="yhat", task="regression",
                                            id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = _regression_rows(400, 2, "w")
    report = md.evaluate(uri, window.drop(columns="y"), window_start="2026-03-02",
                         window_end="2026-03-09", tracking_uri=tracking_uri)
    text = window[["id", "y"]].assign(y=window.y.map(lambda v: f"{v:.17g}"))
    blank = text.iloc[:100].copy()
    blank.loc[blank.index[0], "y"] = ""
    with pytest.raises(md.DataError, match=r"column 'y': expected numbers.*got text such as ''"):
        md.attach_labels(uri, blank, tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    run = client.get_run(report.run_id)  # type: ignore[arg-type]
    assert registry.LATE_LABELS not in run.data.tags  # nothing stored by the refused batch
    md.attach_labels(uri, text.iloc[:200], tracking_uri=tracking_uri)  # text, then numbers
    md.attach_labels(uri, window[["id", "y"]].iloc[200:300], tracking_uri=tracking_uri)
    joined = window.iloc[:300]
    metrics = client.get_run(report.run_id).data.metrics  # type: ignore[arg-type]
    assert metrics["labels.coverage"] == 0.75
    assert metrics["perf.rmse"] == pytest.approx(root_mean_squared_error(joined.y, joined.yhat),
                                                 rel=1e-12)
    assert metrics["perf.mae"] == pytest.approx(mean_absolute_error(joined.y, joined.yhat),
                                                rel=1e-12)
    assert metrics["perf.r2"] == pytest.approx(r2_score(joined.y, joined.yhat), rel=1e-12)


def test_a_decision_that_is_no_class_is_refused_when_the_window_is_evaluated(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a decision column holding a value that is no class (a model's "review" band)
    was taken by a window without labels and stored with its outputs; the labels that came
    later were then refused for it (as 'labels in column 'decision''), after storing them,
    at every attempt: the window could never take labels."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(600, seed=5).assign(id=[f"w{i}" for i in range(600)])
    window["decision"] = np.where(window.score >= 0.6, "1", "0")
    window.loc[window.index[:30], "decision"] = "review"
    with pytest.raises(md.DataError, match=r"decision column 'decision'.*review \(30 rows\)"):
        md.evaluate(uri, window.drop(columns="label"), predicted_label="decision",
                    window_start="2026-03-02", window_end="2026-03-09", tracking_uri=tracking_uri)
    assert not md.status(uri, tracking_uri=tracking_uri)[0].get("last_window")
    # rows left without a decision are fine: left out of the realized metrics
    window.loc[window.index[:30], "decision"] = None
    report = md.evaluate(uri, window.drop(columns="label"), predicted_label="decision",
                         window_start="2026-03-02", window_end="2026-03-09",
                         tracking_uri=tracking_uri)
    md.attach_labels(uri, window[["id", "label"]], tracking_uri=tracking_uri)
    metrics = registry.client_for(tracking_uri).get_run(report.run_id).data.metrics  # type: ignore[arg-type]
    decided = window.iloc[30:]
    assert metrics["perf.accuracy"] == pytest.approx(
        accuracy_score(decided.label, decided.decision.astype(int)), rel=1e-12)


def test_ids_written_otherwise_are_named_when_none_or_only_some_match(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: labels read as text from a file whose float column wrote the ids as '2904.0'
    matched none of the stored ids with no hint why (the error's own rule, "7, 7.0 and '7'
    are one id", read as if they should); and labels of which only some matched (UUIDs in
    upper case, some all digits) warned without saying the others were written otherwise."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(400, seed=6).assign(id=[f"{i:x}" for i in range(400, 800)])
    md.evaluate(uri, window.drop(columns="label"), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    digits = window[window.id.str.isdigit()].iloc[:50]
    as_floats = digits[["id", "label"]].assign(id=digits.id.map(lambda i: f"{i}.0"))
    with pytest.raises(md.DataError, match=rf"labelled id '{digits.id.iloc[0]}.0' is stored as "
                       rf"'{digits.id.iloc[0]}': ids match as written, except that the numbers "
                       r"7 and 7.0 and the text '7' are one id"):
        md.attach_labels(uri, as_floats, tracking_uri=tracking_uri)
    upper = window[["id", "label"]].assign(id=window.id.str.upper())
    lettered = window.id[~window.id.str.isdigit()].iloc[0]
    with pytest.warns(md.DecayWarning, match=rf"{(~window.id.str.isdigit()).sum()} of 400 "
                      rf"labelled ids .* are not used; labelled id '{lettered.upper()}' is "
                      rf"stored as '{lettered}': ids match as written"):
        labelled = md.attach_labels(uri, upper, tracking_uri=tracking_uri)
    assert labelled[0].labelled == window.id.str.isdigit().sum()


def test_ids_a_warehouse_unloads_as_decimals_keep_every_digit(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: 19-digit ids unloaded as Parquet ``decimal128(38, 0)`` (a warehouse's
    NUMBER(38, 0), read by pandas as ``decimal.Decimal``) were keyed through floats, so ids
    within 128 of one another became one id: the window stored '1500000000000000000' for
    ...001 and ...002, labels of the same export were refused as conflicting for an id no row
    has, labels with int64 ids matched none, and a label of one row joined its neighbours."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(300, seed=7)
    ids = [1_500_000_000_000_000_000 + i for i in range(300)]
    table = pa.Table.from_pandas(window.drop(columns="label"), preserve_index=False)
    table = table.append_column("id", pa.array([decimal.Decimal(i) for i in ids],
                                               pa.decimal128(38, 0)))
    pq.write_table(table, tmp_path / "window.parquet")
    report = md.evaluate(uri, str(tmp_path / "window.parquet"), window_start="2026-03-02",
                         window_end="2026-03-09", tracking_uri=tracking_uri)
    labels = pd.DataFrame({"id": ids, "label": window.label}).iloc[::3]  # int64 ids
    assert md.attach_labels(uri, labels, tracking_uri=tracking_uri)[0].labelled == 100
    metrics = registry.client_for(tracking_uri).get_run(report.run_id).data.metrics  # type: ignore[arg-type]
    assert metrics["labels.coverage"] == pytest.approx(1 / 3)
    joined = window.iloc[::3]
    assert metrics["perf.roc_auc"] == pytest.approx(roc_auc_score(joined.label, joined.score),
                                                    rel=1e-12)
    assert category_key(decimal.Decimal("1500000000000000001")) == "1500000000000000001"
    assert category_key(decimal.Decimal("3.00")) == "3" and category_key(
        decimal.Decimal("2.50")) == "2.5"


def test_labels_for_a_version_profiled_without_labels_say_so(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: "labels in column 'label' are 0, 1; the profile's classes are " (none named),
    for a version profiled without --target, whose labels have nothing to be judged against."""
    uri = new_version()
    reference = make_frame(2000, seed=1).assign(id=[f"r{i}" for i in range(2000)])
    md.attach_profile(uri, md.build_profile(reference.drop(columns="label"), prediction="score",
                                            id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(300, seed=8).assign(id=[f"w{i}" for i in range(300)])
    md.evaluate(uri, window.drop(columns="label"), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"^models:/churn/1: its profile was built without "
                       r"labels \(no target\).*\(--target\)"):
        md.attach_labels(uri, window[["id", "label"]], label_column="label",
                         tracking_uri=tracking_uri)


def test_late_labels_say_what_their_metrics_leave_out(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a first batch of only churners' labels (those known first) logged no ROC AUC,
    and rows without a decision were left out of every perf.* metric, without a word: the
    labels table showed 'auc -'; evaluating the same rows with their labels says both."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(600, seed=5).assign(id=[f"w{i}" for i in range(600)])
    window["decision"] = np.where(window.score >= 0.5, 1.0, 0.0)
    window.loc[window.index[:20], "decision"] = np.nan
    md.evaluate(uri, window.drop(columns="label"), predicted_label="decision",
                window_start="2026-03-02", window_end="2026-03-09", tracking_uri=tracking_uri)
    churners = window[window.label == 1]
    with pytest.warns(md.DecayWarning) as caught:
        labelled = md.attach_labels(uri, churners[["id", "label"]], tracking_uri=tracking_uri)
    notes = [str(w.message) for w in caught]
    assert "perf.roc_auc left out: labels have a single class (window 2026-03-02 → 03-09)" in notes
    undecided = int(churners.decision.isna().sum())
    assert (f"{undecided} of the {len(churners)} rows with a label and a model output have no "
            f"decision in 'decision': every perf.* metric is of the other "
            f"{len(churners) - undecided} (window 2026-03-02 → 03-09)") in notes
    assert "perf.roc_auc" not in labelled[0].metrics
    decided = churners[churners.decision.notna()]
    assert labelled[0].metrics["perf.recall"] == pytest.approx(decided.decision.mean(), rel=1e-12)


def test_labels_matching_no_id_of_a_window_with_blank_ids_say_why(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: labels that matched no stored id of a window some of whose rows had no id
    failed with "TypeError: '<' not supported between instances of 'NoneType' and 'str'"
    (the examples of stored ids were sorted with the missing one among them)."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(300, seed=9).assign(id=[None if i < 10 else f"w{i}" for i in range(300)])
    md.evaluate(uri, window.drop(columns="label"), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"none of the 2 labelled ids \(column 'id'\) matches "
                       r".*\(labelled: 'x1', 'x2'; stored: 'w10', 'w100', 'w101'\)$"):
        md.attach_labels(uri, pd.DataFrame({"id": ["x1", "x2"], "label": [0, 1]}),
                         tracking_uri=tracking_uri)


def test_profile_prints_the_decision_column_its_metrics_read(
        tmp_path: Path, tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: with --predicted-label the printout named no decision at all (with a threshold
    it says "decided positive at probability >= 0.7"), so its accuracy and F1 read as if
    decided at the default 0.5."""
    from click.testing import CliRunner

    from mlflow_decay.cli import main

    reference = make_frame(1000, 1)
    reference["decision"] = (reference.score >= 0.8).astype(int)
    reference.to_csv(tmp_path / "ref.csv", index=False)
    done = CliRunner().invoke(main, [
        "profile", new_version(), "--data", str(tmp_path / "ref.csv"), "--target", "label",
        "--prediction", "score", "--predicted-label", "decision", "--band-chunks", "0",
        "--tracking-uri", tracking_uri])
    assert done.exit_code == 0, done.output
    assert ("classes: 0, 1 (positive: 1); decided by column 'decision' (each row's decision, "
            "estimates at probability >= 0.5)") in done.stdout
    assert f"accuracy {accuracy_score(reference.label, reference.decision):.4f}" in done.stdout


def test_labels_of_windows_judged_against_an_earlier_profile_say_where_they_went(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: after a new profile, labels for the weeks judged against the old one (left
    out: their reference is gone) were counted as matching no stored id, with no word of the
    windows left out, which the error says when none match."""
    uri = new_version()
    options = dict(ids="r", target="label", prediction="score", id_column="id", band_chunks=0)
    md.attach_profile(uri, frame_profile(3000, 1, **options), tracking_uri=tracking_uri)
    old = make_frame(300, seed=10).assign(id=[f"a{i}" for i in range(300)])
    md.evaluate(uri, old.drop(columns="label"), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    md.attach_profile(uri, frame_profile(3000, 2, **options), tracking_uri=tracking_uri)
    new = make_frame(300, seed=11).assign(id=[f"b{i}" for i in range(300)])
    md.evaluate(uri, new.drop(columns="label"), window_start="2026-03-09",
                window_end="2026-03-16", tracking_uri=tracking_uri)
    both = pd.concat([old, new])[["id", "label"]]
    with pytest.warns(md.DecayWarning, match=r"^300 of 600 labelled ids .* are not used \(1 "
                      r"window\(s\) judged against an earlier profile, no longer stored, were "
                      r"left out: evaluate their rows again to judge them against this one\)$"):
        labelled = md.attach_labels(uri, both, tracking_uri=tracking_uri)
    assert [w.labelled for w in labelled] == [300]


def test_late_labels_without_a_class_say_why_their_f1_macro_reads_low(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: a window evaluated with its labels said why perf.f1_macro read low (a class
    neither labelled nor predicted counts 0), the same rows labelled late did not: the labels
    table showed the lower macro F1 alone. Both now say it alike (scikit-learn's macro F1 of
    the classes present)."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    names = np.array(["a", "b", "c"])

    def rows(n: int, prefix: str) -> pd.DataFrame:
        y = rng.integers(0, 3, n)
        proba = rng.dirichlet([1, 1, 1], n) * 0.7
        proba[np.arange(n), y] += 0.3
        return pd.DataFrame({"x": rng.normal(0, 1, n), "kind": names[y],
                             "id": [f"{prefix}{i}" for i in range(n)],
                             **{f"p_{c}": proba[:, k] for k, c in enumerate(names)}})

    uri = new_version()
    md.attach_profile(uri, md.build_profile(rows(900, "r"), target="kind", task="multiclass",
                                            prediction=[f"p_{c}" for c in names],
                                            id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = rows(400, "w")
    window = window[window.kind != "c"]
    window = window[window[[f"p_{c}" for c in names]].to_numpy().argmax(1) != 2]
    md.evaluate(uri, window.drop(columns="kind"), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    with pytest.warns(md.DecayWarning) as caught:
        labelled = md.attach_labels(uri, window[["id", "kind"]], tracking_uri=tracking_uri)
    present = f1_score(window.kind, names[window[[f"p_{c}" for c in names]].to_numpy().argmax(1)],
                       average="macro")
    assert labelled[0].metrics["perf.f1_macro"] == pytest.approx(present * 2 / 3)
    notes = [str(w.message) for w in caught if "perf.f1_macro counts" in str(w.message)]
    assert notes == [f"perf.f1_macro counts 1 class(es) as 0 that no labelled row holds or is "
                     f"predicted as: c (macro F1 of the 2 others: {present:.4g}) (window "
                     "2026-03-02 → 03-09)"]


def test_a_windows_own_labels_stay_with_their_rows_when_late_labels_come_for_others(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: the first late batch turned the window's own labels into one label per id,
    so of an id on two rows (a customer scored twice in the week, each scoring with its own
    outcome) the second row took the first's label: a batch for *other* rows moved the
    window's AUC from the rows' own labels (0.76) to another value (0.67 on the trial's
    data)."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(600, seed=12).assign(id=[f"w{i}" for i in range(600)])
    late = window[["id", "label"]].iloc[300:400].copy()
    window.loc[window.index[100:200], "id"] = window.id.iloc[:100].to_numpy()
    window["label"] = window.label.astype(float).where(window.index < 300)
    report = md.evaluate(uri, window, window_start="2026-03-02", window_end="2026-03-09",
                         tracking_uri=tracking_uri)
    own = window.iloc[:300]
    assert report.metrics["perf.roc_auc"] == pytest.approx(roc_auc_score(own.label, own.score),
                                                           rel=1e-12)
    # one of the twice-scored ids relabelled late: both its rows take the late label
    corrected = pd.DataFrame({"id": ["w0"], "label": [1 - window.label.iloc[0]]})
    md.attach_labels(uri, pd.concat([late, corrected]), tracking_uri=tracking_uri)
    truth = pd.concat([own.label, late.label.set_axis(window.index[300:400])])
    truth[window.index[window.id == "w0"]] = corrected.label.iloc[0]
    joined = window.loc[truth.index]
    metrics = registry.client_for(tracking_uri).get_run(report.run_id).data.metrics  # type: ignore[arg-type]
    assert metrics["labels.coverage"] == pytest.approx(400 / 600)
    assert metrics["perf.roc_auc"] == pytest.approx(roc_auc_score(truth, joined.score), rel=1e-12)


def test_a_csv_of_19_digit_ids_with_a_blank_is_evaluated_and_labelled_by_its_path(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: a window CSV of 19-digit ids (a warehouse's NUMBER(38, 0) export) with one
    blank id was refused (pandas read the column as floats, which keep 16 digits), so its
    labels had no window to join. Read by its path, the file is read as written: the window
    is evaluated (the blank-id row cannot take a label), and a labels CSV with int64 ids joins
    each row's own label."""
    from click.testing import CliRunner

    from mlflow_decay.cli import main

    base = 1_234_567_890_123_456_000
    reference = make_frame(1000, seed=1).assign(id=base + np.arange(1000))
    reference.to_csv(tmp_path / "reference.csv", index=False)
    window = make_frame(400, seed=8).assign(id=base + 10_000 + np.arange(400))
    blank = 5
    window.drop(columns="label").astype({"id": "Int64"}).assign(
        id=lambda f: f["id"].mask(f.index == blank)).to_csv(tmp_path / "window.csv", index=False)
    labels = window[["id", "label"]].iloc[::2]  # consecutive ids: as floats, one id
    labels.to_csv(tmp_path / "labels.csv", index=False)
    uri = new_version()
    runner, store = CliRunner(), ["--tracking-uri", tracking_uri]
    steps = [["profile", uri, "--data", str(tmp_path / "reference.csv"), "--target", "label",
              "--prediction", "score", "--id-column", "id", "--band-chunks", "0"],
             ["evaluate", uri, "--data", str(tmp_path / "window.csv"), "--window-start",
              "2026-03-02", "--window-end", "2026-03-09", "--json"],
             ["labels", uri, "--data", str(tmp_path / "labels.csv")]]
    outs = [runner.invoke(main, [*step, *store]) for step in steps]
    for out in outs:
        assert out.exit_code == 0, out.output + out.stderr
    report = json.loads(outs[1].stdout)
    run_id, notes = report["run_id"], report["notes"]
    assert "1 of 400 rows have no id in column 'id': labels cannot be attached to them later" \
        in notes
    joined = window.iloc[::2].drop(index=blank, errors="ignore")
    assert outs[2].stdout.splitlines()[0] == "1 window(s) received labels"
    metrics = registry.client_for(tracking_uri).get_run(run_id).data.metrics
    assert metrics["labels.coverage"] == pytest.approx(len(joined) / 400)
    assert metrics["perf.roc_auc"] == pytest.approx(roc_auc_score(joined.label, joined.score),
                                                    rel=1e-12)
    assert metrics["perf.accuracy"] == pytest.approx(
        accuracy_score(joined.label, joined.score >= 0.5), rel=1e-12)
    # read by pandas in memory, the ids are floats and refused, saying how to read them
    with pytest.raises(md.DataError, match=r"column 'id' of the window holds ids as floating-"
                       r"point numbers .* dtype=\{'id': str\}\), or give the CSV file's path"):
        md.evaluate(uri, pd.read_csv(tmp_path / "window.csv"), window_start="2026-03-09",
                    window_end="2026-03-16", tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"column 'id' of the labels holds ids as floating-"
                       r"point .* or give the CSV file to mlflow-decay labels --data: it is read"):
        md.attach_labels(uri, pd.read_csv(tmp_path / "window.csv")[["id"]].assign(
            label=window.label), tracking_uri=tracking_uri)
    # a file that holds the ids as floats lost their digits when written: refused as well
    labels.astype({"id": float}).to_csv(tmp_path / "floats.csv", index=False)
    out = runner.invoke(main, ["labels", uri, "--data", str(tmp_path / "floats.csv"), *store])
    assert out.exit_code == 1 and "column 'id' of the labels holds ids as floating-point" \
        in out.stderr and "write them as integers" in out.stderr


def test_a_blank_among_20_digit_ids_in_a_csv_is_no_id_that_labels_join(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: pandas reads a column of ids beyond int64 (20 digits) with a blank as text that
    keeps the blank as the id '' (and 'NA' as 'NA'), so a window's row without an id stored
    the id '', and a labels row without an id gave it its label, silently."""
    from click.testing import CliRunner

    from mlflow_decay.cli import main

    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(300, seed=9).assign(id=[str(10**19 + i) for i in range(300)])
    window.drop(columns="label").assign(id=lambda f: f["id"].mask(f.index == 5)).to_csv(
        tmp_path / "window.csv", index=False)
    report = md.evaluate(uri, str(tmp_path / "window.csv"), window_start="2026-03-02",
                         window_end="2026-03-09", tracking_uri=tracking_uri)
    assert "1 of 300 rows have no id in column 'id': labels cannot be attached to them later" \
        in report.notes
    labels = window[["id", "label"]].astype({"id": object})
    labels.loc[9, "id"] = "NA"  # a labels row without its id
    labels.to_csv(tmp_path / "labels.csv", index=False)
    out = CliRunner().invoke(main, ["labels", uri, "--data", str(tmp_path / "labels.csv"),
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output + out.stderr
    joined = window.drop(index=[5, 9])
    assert f"{len(joined)} of 300" in out.stdout
    metrics = registry.client_for(tracking_uri).get_run(report.run_id).data.metrics  # type: ignore[arg-type]
    assert metrics["labels.coverage"] == pytest.approx(len(joined) / 300)
    assert metrics["perf.roc_auc"] == pytest.approx(roc_auc_score(joined.label, joined.score),
                                                    rel=1e-12)
