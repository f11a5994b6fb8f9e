"""Bad input is refused with one line, a non-zero exit code, and an unchanged registry."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from conftest import frame_profile, make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)


def _tamper(tracking_uri: str, uri: str, tmp: Path) -> None:
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, uri)
    data = md.load_profile(uri, tracking_uri=tracking_uri).to_json().replace(b'"rows":5000',
                                                                               b'"rows":5001')
    path = tmp / registry.PROFILE_FILE
    path.write_bytes(data)
    assert ref.model_id is not None
    client.log_model_artifact(ref.model_id, str(path), artifact_path=registry.profile_folder(ref))


def _replace_profile(tracking_uri: str, uri: str, tmp: Path, edit: Callable[[bytes], bytes],
                     fix_hash: bool) -> str:
    """Overwrite a version's stored profile with an edited copy (and, if asked, its hash tag)."""
    import hashlib

    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, uri)
    data = edit(md.load_profile(uri, tracking_uri=tracking_uri).to_json())
    path = tmp / registry.PROFILE_FILE
    path.write_bytes(data)
    assert ref.model_id is not None
    client.log_model_artifact(ref.model_id, str(path), artifact_path=registry.profile_folder(ref))
    if fix_hash:
        client.set_model_version_tag(ref.name, ref.version, registry.PROFILE_SHA256,
                                     hashlib.sha256(data).hexdigest())
    return uri


def _deleted(tracking_uri: str, new_version: Callable[..., str]) -> str:
    """A version profiled, then deleted before the evaluation."""
    uri = new_version()
    md.attach_profile(uri, md.build_profile(make_frame(500, 1), target="label",
                                            prediction="score", band_chunks=0),
                      tracking_uri=tracking_uri)
    name, version = uri.removeprefix("models:/").split("/")
    registry.client_for(tracking_uri).delete_model_version(name, version)
    return uri


def _truncated_parquet(path: Path) -> Path:
    make_frame(500, 3).to_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


CONTRADICTORY = b'[thresholds]\n"drift.share" = { warn = 0.5, degrade = 0.2, direction = "above" }\n'
UNKNOWN_METRIC = b'[thresholds]\n"auc" = { warn = 0.5 }\n'

# (case id, how to set it up -> (model uri, data path, extra args), expected message part)
Setup = Callable[[str, str, Callable[..., str], Path], tuple[str, Path, list[str]]]


def _with_policy(policy: bytes | None) -> Setup:
    """A good window with ``--policy`` naming a file of ``policy`` (``None``: no such file)."""

    def setup(t: str, uri: str, nv: Callable[..., str], d: Path) -> tuple[str, Path, list[str]]:
        path = d / "absent.toml" if policy is None else _bytes(d / "p.toml", policy)
        return uri, _write(make_frame(50, 3), d / "w.csv"), ["--policy", str(path)]

    return setup


CASES: list[tuple[str, Setup, str]] = [
    ("missing feature column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).drop(columns="x2"), d / "w.csv"), []),
     "feature column 'x2' is missing from the window"),
    ("missing prediction column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).drop(columns="score"), d / "w.parquet"), []),
     "prediction column 'score' is missing from the window"),
    ("feature type changed to text",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(x1="high"), d / "w.csv"), []),
     "column 'x1': expected numbers as in the reference profile, got text such as 'high'"),
    ("empty window",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).iloc[:0], d / "w.parquet"), []),
     "window is empty"),
    ("unknown model",
     lambda t, uri, nv, d: ("models:/nope/1", _write(make_frame(50, 3), d / "w.csv"), []),
     "no registered model named 'nope'"),
    ("unknown version",
     lambda t, uri, nv, d: ("models:/churn/9", _write(make_frame(50, 3), d / "w.csv"), []),
     "model 'churn' has no version 9 (versions: 1)"),
    ("unknown alias",
     lambda t, uri, nv, d: ("models:/churn@ghost", _write(make_frame(50, 3), d / "w.csv"), []),
     "model 'churn' has no alias 'ghost'"),
    ("malformed model uri",
     lambda t, uri, nv, d: ("churn/1", _write(make_frame(50, 3), d / "w.csv"), []),
     "is not models:/<name>/<version> or models:/<name>@<alias>"),
    ("version without profile",
     lambda t, uri, nv, d: (nv(), _write(make_frame(50, 3), d / "w.csv"), []),
     "has no reference profile"),
    ("tampered profile",
     lambda t, uri, nv, d: (_tamper(t, uri, d) or uri, _write(make_frame(50, 3), d / "w.csv"), []),
     "does not match its recorded SHA-256"),
    ("missing data file",
     lambda t, uri, nv, d: (uri, d / "absent.csv", []),
     "data file"),
    ("unreadable parquet file",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.parquet", b"PAR1 this is not parquet"), []),
     "could not be read"),
    ("unknown data suffix",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.xlsx", b"x"), []),
     "expected a .csv or .parquet file"),
    ("malformed policy",
     _with_policy(b"[thresholds\n"),
     "is not valid TOML"),
    ("contradictory policy",
     _with_policy(CONTRADICTORY),
     "is less severe than warn"),
    ("policy with unknown metric",
     _with_policy(UNKNOWN_METRIC),
     "unknown metric name"),
    # columns
    ("renamed feature column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).rename(columns={"x1": "X1"}),
                                        d / "w.parquet"), []),
     "feature column 'x1' is missing from the window"),
    ("numbers and text mixed in a numerical column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).astype({"x1": object}).assign(
         x1=lambda f: f["x1"].where(f.index % 7 != 0, "about 3")), d / "w.csv"), []),
     "column 'x1': expected numbers as in the reference profile, got text such as 'about 3'"),
    ("dates where numbers were",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(
         x2=pd.Timestamp("2026-01-01")), d / "w.parquet"), []),
     "column 'x2': expected numbers as in the reference profile, got dates"),
    ("only the label column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3)[["label"]], d / "w.parquet"), []),
     "is missing from the window (columns: label)"),
    ("scores given as text",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(score="high"), d / "w.csv"), []),
     "column 'score': expected numbers"),
    # files
    ("truncated parquet file",
     lambda t, uri, nv, d: (uri, _truncated_parquet(d / "w.parquet"), []), "could not be read"),
    ("csv with a bad encoding",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.csv", b"x1,x2\n\xff\xfe\xfa,1\n"), []),
     "could not be read as CSV"),
    ("empty csv file",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.csv", b""), []), "could not be read as CSV"),
    ("csv separated by semicolons",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.csv", make_frame(50, 3).to_csv(
         index=False, sep=";").encode()), []), "it looks separated by semicolons"),
    ("a column twice in a csv header",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.csv", make_frame(50, 3).to_csv(index=False)
                                        .replace("x1,x2,", "x1,x1,", 1).encode()), []),
     "column 'x1' appears more than once in the window"),
    ("directory without parquet files",
     lambda t, uri, nv, d: (uri, _dir(d / "empty"), []), "window is empty"),
    # registry
    ("version deleted after profiling",
     lambda t, uri, nv, d: (_deleted(t, nv), _write(make_frame(50, 3), d / "w.csv"), []),
     "has no version 2"),
    ("truncated profile",
     lambda t, uri, nv, d: (_replace_profile(t, uri, d, lambda b: b[: len(b) // 2], False),
                            _write(make_frame(50, 3), d / "w.csv"), []),
     "does not match its recorded SHA-256"),
    ("truncated profile with a matching hash",
     lambda t, uri, nv, d: (_replace_profile(t, uri, d, lambda b: b[: len(b) // 2], True),
                            _write(make_frame(50, 3), d / "w.csv"), []),
     "profile is not valid JSON"),
    ("profile from a newer format version",
     lambda t, uri, nv, d: (_replace_profile(
         t, uri, d, lambda b: re.sub(rb'"format_version":\d+', b'"format_version":99', b), True),
         _write(make_frame(50, 3), d / "w.csv"), []),
     "profile format version 99 is not supported"),
    ("profile with inconsistent counts",
     lambda t, uri, nv, d: (_replace_profile(
         t, uri, d, lambda b: b.replace(b'"rows":5000', b'"rows":5000,"x":1', 1)
         .replace(b'"other":0', b'"other":-3', 1), True),
         _write(make_frame(50, 3), d / "w.csv"), []),
     "profile is malformed"),
    # policies
    ("policy with an unknown section",
     _with_policy(b"[nonsense]\nx = 1\n"),
     "unknown section 'nonsense'"),
    ("missing policy file",
     _with_policy(None),
     "does not exist"),
    ("policy threshold that is not a number",
     _with_policy(b'[thresholds]\n"drift.share" = { warn = "high" }\n'),
     "drift.share"),
]

# issue 11, policy and inputs: typos in rule names, negative drift thresholds, nested columns
CASES += [
    ("policy rule no metric can match (a typo)",
     _with_policy(b'[thresholds]\n"perf.roc_aux.delta" = { warn = -0.02 }\n'),
     "threshold 'perf.roc_aux.delta': unknown metric name"),
    ("policy with a negative drift threshold",
     _with_policy(b"[drift]\nnumerical = { threshold = -0.1 }\n"),
     "[drift] numerical threshold must be >= 0"),
    ("nested values in a feature column",
     lambda t, uri, nv, d: (uri, _write(make_frame(300, 3).assign(
         x1=[[1.0, 2.0]] * 300), d / "w.parquet"), []),
     "column 'x1' holds nested values (lists, structs or maps)"),
    ("nested values in the label column",
     lambda t, uri, nv, d: (uri, _write(make_frame(300, 3).assign(
         label=[{"y": 1}] * 300), d / "w.parquet"), []),
     "column 'label' holds nested values (lists, structs or maps): labels must be single values"),
]

# issue 11, labels and model outputs: scores that are not probabilities, labels that are not
# the profile's classes
CASES += [
    ("scores as percentages",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(score=lambda f: f.score * 100),
                                        d / "w.csv"), []),
     "column 'score': expected probabilities in [0, 1], got values from"),
    ("scores as logits, streamed",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(
         score=lambda f: np.log(f.score / (1 - f.score))), d / "w.parquet"), []),
     "column 'score': expected probabilities in [0, 1], got values from -"),
    ("labels yes/no against classes 0/1",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(
         label=lambda f: f.label.map({1: "yes", 0: "no"})), d / "w.csv"), []),
     "labels in column 'label' are no, yes; the profile's classes are 0, 1"),
]

# trial 3: warn and degrade swapped on a metric that is only worse when higher
CASES += [
    ("policy with warn and degrade swapped on a drift metric",
     _with_policy(b'[thresholds]\n"drift.prediction.psi" = { warn = 0.3, degrade = 0.2 }\n'),
     "degrade 0.2 below warn 0.3 reads as lower is worse, but a higher drift.prediction.psi is "
     "worse: swap them"),
]

# trial 3, CSV files as users have them: a header written "x1, x2" (spaces around
# the names), numbers written with thousands separators, a file in latin-1
CASES += [
    ("CSV header with spaces around the names",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.csv", make_frame(300, 3).to_csv(index=False)
                                        .replace("x1,x2", "x1, x2 ", 1).encode()), []),
     "feature column 'x2' is missing from the window (it has ' x2 ': the same name but for "
     "spaces around it or letter case; columns: x1,  x2 , color"),
    ("CSV numbers with thousands separators",
     lambda t, uri, nv, d: (uri, _write(make_frame(300, 3).assign(
         x2=lambda f: [f"{1000 * v:,.1f}" for v in f.x2]), d / "w.csv"), []),
     "column 'x2': expected numbers as in the reference profile, got text such as '"),
    ("CSV in latin-1",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.csv", make_frame(300, 3).assign(
         color="Genève").to_csv(index=False).encode("latin-1")), []),
     "could not be read as CSV: 'utf-8' codec can't decode byte 0xe8"),
]


def _yes_no(tracking_uri: str, new_version: Callable[..., str]) -> str:
    """A new version profiled with labels yes/no."""
    uri = new_version()
    reference = make_frame(500, 1).assign(label=lambda f: f.label.map({1: "yes", 0: "no"}))
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score",
                                            band_chunks=0), tracking_uri=tracking_uri)
    return uri


# trial 6: labels with a stray space were named unquoted (" yes" read as "yes"), so
# the message seemed to refuse the profile's own classes
CASES += [
    ("labels with stray spaces",
     lambda t, uri, nv, d: (_yes_no(t, nv), _write(make_frame(300, 3).assign(
         label=lambda f: f.label.map({1: " yes", 0: "no "})), d / "w.parquet"), []),
     "labels in column 'label' are ' yes', 'no '; the profile's classes are 'no', 'yes'; labels "
     "that differ only in spaces at their ends or in case are different labels: clean the column"),
]

def _refused(result: Result, message: str, tracking_uri: str, before: dict[str, object],
             last_line_only: bool = False) -> None:
    """Exit 1, ``message`` in one ``mlflow-decay: error:`` line (the last, for commands that
    report progress first), no traceback, and the registry as ``before``."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert last_line_only or len(lines) == 1, result.stderr
    assert lines[-1].startswith("mlflow-decay: error: ") and message in lines[-1], result.stderr
    assert "Traceback" not in result.output
    assert registry_snapshot(tracking_uri) == before


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


#: each case, through the CLI and through the Python API
over_cases = pytest.mark.parametrize(("setup", "message"), [(s, m) for _, s, m in CASES],
                                     ids=[c for c, _, _ in CASES])


@over_cases
def test_cli_refuses_bad_input_and_changes_nothing(
        tracking_uri: str, profiled: str, new_version: Callable[..., str], tmp_path: Path,
        setup: Setup, message: str) -> None:
    uri, data, extra = setup(tracking_uri, profiled, new_version, tmp_path)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(
        main, ["evaluate", uri, "--data", str(data), "--tracking-uri", tracking_uri, *extra])
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped error
    _refused(result, message, tracking_uri, before)


def test_the_installed_command_exits_non_zero_without_traceback(tracking_uri: str,
                                                                 profiled: str, tmp_path: Path) -> None:
    data = _write(make_frame(200, 3).drop(columns="x1"), tmp_path / "w.csv")
    before = registry_snapshot(tracking_uri)
    proc = subprocess.run(
        [sys.executable, "-m", "mlflow_decay.cli", "evaluate", profiled, "--data", str(data),
         "--tracking-uri", tracking_uri], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "mlflow-decay: error: feature column 'x1' is missing from the window (columns: x2, color, "
        "level, score, label)")
    assert registry_snapshot(tracking_uri) == before


USAGE = [
    (["evaluate", "models:/churn/1"], "Missing option '--data'"),
    (["evaluate", "models:/churn/1", "--data", "w.csv", "--bogus"], "No such option '--bogus'"),
    (["evalute", "models:/churn/1"], "No such command 'evalute'"),
    (["monitor", "models:/churn/1", "--data", "w.csv", "--window", "1D", "--chunk-size", "10",
      "--timestamp-column", "ts"], "give --window PERIOD"),
    (["monitor", "models:/churn/1", "--data", "w.csv", "--window", "1D"],
     "--window needs --timestamp-column"),
    (["monitor", "models:/churn/1", "--data", "w.csv", "--chunk-size", "0"],
     "0 is not in the range x>=1"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--task", "ranking"],
     "'ranking' is not one of"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--min-category-count", "0"],
     "0 is not in the range x>=1"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--band-chunks", "-1"],
     "-1 is not in the range x>=0"),
    (["restore", "models:/churn/1", "--reason", " "], "give a reason"),
]
# time semantics (issue 11): periods, bounds, experiment names
USAGE += [
    (["monitor", "models:/churn/1", "--data", "w.csv", "--window", "0D", "--timestamp-column",
      "ts"], "'0D' is not a positive period"),
    (["monitor", "models:/churn/1", "--data", "w.csv", "--window", "-1D", "--timestamp-column",
      "ts"], "'-1D' is not a positive period"),
    (["monitor", "models:/churn/1", "--data", "w.csv", "--chunk-size", "5", "--timestamp-unit",
      "days"], "'days' is not one of"),
    (["evaluate", "models:/churn/1", "--data", "w.csv", "--window-end", "week 19"],
     "window end 'week 19' is not an ISO 8601 time"),
    (["evaluate", "models:/churn/1", "--data", "w.csv", "--window-start", "2026-02-08",
      "--window-end", "2026-02-01"], "is not before window end"),
    (["compare", "models:/churn/1", "models:/churn/2", "--data", "w.csv", "--window-start",
      "yesterday"], "window start 'yesterday' is not an ISO 8601 time"),
    *[([*command, "--experiment", ""], "Invalid value for '--experiment': is empty") for command in (
        ["evaluate", "models:/churn/1", "--data", "w.csv"],
        ["monitor", "models:/churn/1", "--data", "w.csv", "--chunk-size", "5"],
        ["labels", "models:/churn/1", "--labels", "w.csv"],
        ["compare", "models:/churn/1", "models:/churn/2", "--data", "w.csv"],
        ["restore", "models:/churn/1", "--reason", "looked"],
        ["history", "churn"])],
]

# issue 11, hostile option values: blank paths and names, lists naming no column, directories
USAGE += [
    (["evaluate", "models:/churn/1", "--data", ""], "give a path, not an empty string"),
    (["monitor", "models:/churn/1", "--data", " ", "--chunk-size", "5"], "give a path"),
    (["labels", "models:/churn/1", "--labels", ""], "give a path"),
    (["evaluate", "models:/churn/1", "--data", "w.csv", "--policy", "."], "is a directory"),
    (["policy", "show", "--policy", ""], "give a path"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--prediction", ","],
     "name at least one column"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--features", ""],
     "name at least one column"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--exclude", " , "],
     "name at least one column"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--target", " "], "give a name"),
    (["labels", "models:/churn/1", "--labels", "w.csv", "--label-column", ""], "give a name"),
    (["compare", "models:/churn/1", "models:/churn/2", "--data", "w.csv", "--predictions", ","],
     "name at least one column"),
    (["demo", "--model-name", ""], "give a name"),
]

# issue 11, labels and model outputs
USAGE += [
    (["profile", "models:/churn/1", "--data", "w.csv", "--threshold", "1.5"],
     "1.5 is not in the range 0<x<1"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--prediction-kind", "odds"],
     "'odds' is not one of 'probability', 'logit'"),
]


# an option given twice: click kept the last value, so the first was dropped without a word
USAGE += [
    (["profile", "models:/churn/1", "--data", "w.csv", "--exclude", "p_0", "--exclude", "id"],
     "--exclude is given 2 times, and only one would be used: give it once; several columns "
     "go in one, comma-separated: --exclude a,b"),
    (["profile", "models:/churn/1", "--data", "w.csv", "--prediction", "p_0", "--prediction",
      "p_1"], "--prediction is given 2 times"),
    (["evaluate", "models:/churn/1", "--data", "w.csv", "--window-start", "2026-01-01",
      "--window-start", "2026-02-01"], "--window-start is given 2 times, and only one would be "
     "used: give it once"),
    (["labels", "models:/churn/1", "--labels", "a.csv", "--data", "b.csv"],
     "--labels/--data is given 2 times"),
    (["monitor", "models:/churn/1", "--data", "w.csv", "--chunk-size", "5", "--chunk-size",
      "10"], "--chunk-size is given 2 times"),
    # a unit with no timestamps to read was dropped without a word
    (["monitor", "models:/churn/1", "--data", "w.csv", "--chunk-size", "5", "--timestamp-unit",
      "ms"], "--timestamp-unit needs --timestamp-column"),
]


@pytest.mark.parametrize(("args", "message"), USAGE, ids=[" ".join(a[:1] + a[3:6]) for a, _ in USAGE])
def test_usage_errors_exit_2(tracking_uri: str, args: list[str], message: str) -> None:
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, [*args, "--tracking-uri", tracking_uri]
                                if args[0] not in ("evalute", "policy") else args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert registry_snapshot(tracking_uri) == before


@over_cases
def test_python_api_refuses_the_same_input_with_a_decay_error(
        tracking_uri: str, profiled: str, new_version: Callable[..., str], tmp_path: Path,
        setup: Setup, message: str) -> None:
    uri, data, extra = setup(tracking_uri, profiled, new_version, tmp_path)
    before = registry_snapshot(tracking_uri)
    policy = extra[1] if extra[:1] == ["--policy"] else None
    with pytest.raises(md.DecayError) as caught:
        md.evaluate(uri, data, policy=policy, tracking_uri=tracking_uri)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert registry_snapshot(tracking_uri) == before


# reference problems, met by `mlflow-decay profile`: (case id, reference table, message part)
PROFILE = [
    ("target column missing", make_frame(300, 5).drop(columns="label"),
     "column 'label' is missing from the reference"),
    ("prediction column missing", make_frame(300, 5).drop(columns="score"),
     "column 'score' is missing from the reference"),
    ("labels of a single class", make_frame(300, 5).assign(label=1),
     "a binary task needs two label classes"),
    ("empty reference", make_frame(300, 5).iloc[:0], "reference table is empty"),
    ("only the label and the score", make_frame(300, 5)[["score", "label"]],
     "reference has no feature columns"),
    ("a column twice", make_frame(300, 5).rename(columns={"x2": "x1"}),
     "column 'x1' appears more than once in the reference"),
]

# issue 11, labels and model outputs
PROFILE += [
    ("scores as percentages", make_frame(300, 5).assign(score=lambda f: f.score * 100),
     "column 'score': expected probabilities in [0, 1], got values from"),
    ("negative scores", make_frame(300, 5).assign(score=lambda f: f.score - 0.5),
     "column 'score': expected probabilities in [0, 1], got values from -"),
]


# ---- trial 3: a regression or a multiclass model profiled with the default task (binary):
# the refusal names the --task that fits, not only logits
PROFILE += [
    ("a regression profiled as binary",
     make_frame(300, 5).assign(label=lambda f: 1000 * f.x2, score=lambda f: 990 * f.x2),
     "task='regression' (--task regression)"),
    ("three classes profiled as binary", make_frame(300, 5).assign(label=lambda f: f.level % 3),
     "found 3 (0, 1, 2); profile a multiclass model with task='multiclass' (--task multiclass)"),
]


# trial 6: labels with stray spaces were listed unquoted (" Yes, No, Yes": three
# classes that read as two, one twice)
PROFILE += [
    ("labels with a stray space in some rows",
     make_frame(300, 5).assign(label=lambda f: np.where(
         f.label == 1, np.where(np.arange(300) < 20, " Yes", "Yes"), "No")),
     "found 3 (' Yes', 'No', 'Yes'); labels that differ only in spaces at their ends or in case "
     "are different labels: clean the column"),
    ("labels with a stray space in every row",
     make_frame(300, 5).assign(label=lambda f: np.where(f.label == 1, "Yes ", "No")),
     "the classes are 'No', 'Yes '; give positive_label= (--positive-label); labels that differ "
     "only in spaces at their ends or in case are different labels"),
]

def test_profile_api_refuses_scores_outside_zero_one() -> None:
    with pytest.raises(md.DataError, match=r"column 'score': expected probabilities in \[0, 1\]"):
        md.build_profile(make_frame(300, 5).assign(score=lambda f: f.score * 100),
                         target="label", prediction="score")


@pytest.mark.parametrize(("table", "message"), [p[1:] for p in PROFILE], ids=[p[0] for p in PROFILE])
def test_profile_refuses_bad_references_and_changes_nothing(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path, table: pd.DataFrame,
        message: str) -> None:
    uri = new_version()
    data = _bytes(tmp_path / "ref.csv", table.to_csv(index=False).encode())
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["profile", uri, "--data", str(data), "--target", "label",
                                       "--prediction", "score", "--tracking-uri", tracking_uri])
    _refused(result, message, tracking_uri, before)


# the other commands: (case id, arguments given the profiled version's URI, message part)
COMMANDS: list[tuple[str, Callable[[str], list[str]], str]] = [
    ("compare with an unknown challenger",
     lambda uri: ["compare", uri, "models:/churn/7", "--data", "w.csv"], "has no version 7"),
    ("compare a version with itself",
     lambda uri: ["compare", uri, uri, "--data", "w.csv"], "are the same version"),
    ("compare with an unknown alias",
     lambda uri: ["compare", uri, "models:/churn@challenger", "--data", "w.csv"],
     "has no alias 'challenger'"),
    ("labels without an id column",
     lambda uri: ["labels", uri, "--labels", "w.csv"], "name the id and label columns"),
    ("labels for an unknown version",
     lambda uri: ["labels", "models:/churn/8", "--labels", "w.csv", "--id-column", "x1"],
     "has no version 8"),
    ("status of an unknown model", lambda uri: ["status", "nope"],
     "no registered model named 'nope'"),
    ("history of an unknown version", lambda uri: ["history", "models:/churn/4"],
     "has no version 4"),
    ("restore an unknown alias",
     lambda uri: ["restore", "models:/churn@ghost", "--reason", "looked"],
     "has no alias 'ghost'"),
    ("profile for an unknown model",
     lambda uri: ["profile", "models:/nope/1", "--data", "w.csv", "--target", "label"],
     "no registered model named 'nope'"),
]

# trial 3: decisions without scores tracked no performance at all, silently
COMMANDS += [
    ("profile with a decision column but no scores",
     lambda uri: ["profile", uri, "--data", "w.csv", "--target", "label", "--exclude", "score",
                  "--predicted-label", "level"],
     "predicted_label 'level' needs the model's scores too (prediction=, --prediction)"),
]

# trial 4: --promote across two registered models wrote the challenger's streak
# onto the champion's model's version of the same number, and would move @champion there
COMMANDS += [
    ("compare --promote across two registered models",
     lambda uri: ["compare", uri, "models:/churn-xgb@challenger", "--data", "w.csv", "--promote"],
     "promote (--promote) moves @champion among the versions of one registered model, and "
     "models:/churn/1 and models:/churn-xgb@challenger are of two ('churn', 'churn-xgb')"),
]


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in COMMANDS],
                         ids=[c[0] for c in COMMANDS])
def test_every_command_refuses_bad_input_and_changes_nothing(
        tracking_uri: str, profiled: str, args: Callable[[str], list[str]], message: str) -> None:
    make_frame(300, 2).to_csv("w.csv", index=False)  # the test's own directory
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, [*args(profiled), "--tracking-uri", tracking_uri])
    _refused(result, message, tracking_uri, before)


def _monitor_data(tmp: Path, ts: object) -> Path:
    return _write(make_frame(300, 4).assign(ts=ts), tmp / "prod.csv")


MONITOR = [
    ("timestamps that are not dates", lambda d: _monitor_data(d, "yesterday"), ["--window", "1D"],
     "column 'ts': expected timestamps"),
    ("rows without a timestamp", lambda d: _monitor_data(d, [None] * 10 + ["2026-01-01"] * 290),
     ["--window", "1D"], "10 rows have no timestamp"),
    ("a period that is not an offset", lambda d: _monitor_data(d, "2026-01-01"),
     ["--window", "fortnight"], "is not a pandas offset"),
    ("timestamp column missing", lambda d: _write(make_frame(300, 4), d / "prod.csv"),
     ["--window", "1D"], "timestamp column 'ts' is missing"),
    ("a calendar period on a streamed directory",
     lambda d: _dir_with(d, make_frame(300, 4).assign(ts=pd.Timestamp("2026-01-01", tz="UTC"))),
     ["--window", "1W"], "is a calendar period"),
]
# time semantics (issue 11): one rule per timestamp column
MONITOR += [
    ("epoch seconds without a unit",
     lambda d: _monitor_data(d, 1_767_225_600 + np.arange(300) * 60), ["--window", "1D"],
     "column 'ts': timestamps given as numbers (such as '1767225600') need their unit"),
    ("milliseconds read as seconds",
     lambda d: _monitor_data(d, 1_767_225_600_000 + np.arange(300)),
     ["--window", "1D", "--timestamp-unit", "s"], "is the year"),
    ("dates that read as month/day and day/month",
     lambda d: _monitor_data(d, ["01/02/2026"] * 150 + ["03/02/2026"] * 150), ["--window", "1D"],
     "read both as month/day and day/month"),
    ("timestamps in two formats",
     lambda d: _monitor_data(d, ["2026-02-01"] * 150 + ["13/02/2026"] * 150), ["--window", "1D"],
     "expected timestamps in one format"),
    ("a relative time",
     lambda d: _monitor_data(d, "now"), ["--window", "1D"], "cannot read 'now'"),
]



# ---- trial 4: a bad value in the last window of a table read into memory refuses the monitor
# before its first window is logged (the windows before it were logged and applied: the
# version degraded, then exit 1)
def _last_window_holds(tmp: Path, column: str, value: object) -> Path:
    frame = pd.concat([make_frame(300, seed, shift=1.5, flip=0.3) for seed in (4, 5, 6)],
                      ignore_index=True)
    frame["ts"] = pd.Timestamp("2026-03-02", tz="UTC") + pd.to_timedelta(
        np.repeat([0, 1, 2], 300), unit="D")
    frame[column] = frame[column].astype(object)
    frame.loc[700, column] = value
    return _write(frame, tmp / "prod.csv")


MONITOR += [
    ("text in a numerical feature of the last window",
     lambda d: _last_window_holds(d, "x1", "oops"), ["--window", "1D"],
     "column 'x1': expected numbers as in the reference profile, got text such as 'oops'"),
    ("a score out of range in the last window",
     lambda d: _last_window_holds(d, "score", 7.0), ["--window", "1D"],
     "column 'score': expected probabilities in [0, 1]"),
    ("a label that is no class in the last window",
     lambda d: _last_window_holds(d, "label", 2), ["--window", "1D"],
     "labels in column 'label' are 0, 1, 2"),
]

def _dir_with(tmp: Path, frame: pd.DataFrame) -> Path:
    directory = _dir(tmp / "prod")
    frame.to_parquet(directory / "part-0.parquet")
    return directory


@pytest.mark.parametrize(("make", "args", "message"), [m[1:] for m in MONITOR],
                         ids=[m[0] for m in MONITOR])
def test_monitor_refuses_bad_windows_and_changes_nothing(
        tracking_uri: str, profiled: str, tmp_path: Path, make: Callable[[Path], Path],
        args: list[str], message: str) -> None:
    data = make(tmp_path)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["monitor", profiled, "--data", str(data),
                                       "--timestamp-column", "ts", *args,
                                       "--tracking-uri", tracking_uri])
    _refused(result, message, tracking_uri, before, last_line_only=True)


# -- accepted and reported -------------------------------------------------------------------
def test_nan_and_inf_are_counted_and_left_out_of_drift(tracking_uri: str, profiled: str) -> None:
    window = make_frame(2000, 8)
    dirty = window.copy()
    dirty.loc[:99, "x1"] = np.nan
    dirty.loc[100:149, "x1"] = np.inf
    dirty.loc[150:159, "x1"] = -np.inf
    report = md.evaluate(profiled, dirty, log=False, tracking_uri=tracking_uri)
    assert report.metrics["quality.x1.missing_rate"] == pytest.approx(100 / 2000)
    assert report.metrics["quality.x1.nonfinite_rate"] == pytest.approx(60 / 2000)
    clean = md.evaluate(profiled, window.iloc[160:], log=False, tracking_uri=tracking_uri)
    for stat in ("psi", "js", "ks", "wasserstein"):
        assert report.metrics[f"drift.x1.{stat}"] == pytest.approx(clean.metrics[f"drift.x1.{stat}"])


def test_extra_columns_unseen_categories_and_single_class_labels(tracking_uri: str,
                                                                profiled: str) -> None:
    window = make_frame(2000, 8).assign(comment="hello", label=1)
    window.loc[:199, "color"] = "purple"
    report = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert report.extra_columns == ["comment"]
    assert report.metrics["drift.color.unseen_share"] == pytest.approx(0.1)
    assert report.metrics["quality.color.out_of_range_share"] == pytest.approx(0.1)
    assert "perf.roc_auc" not in report.metrics and "perf.accuracy" in report.metrics
    assert any(n.startswith("perf.roc_auc left out: labels have a single class")
               for n in report.notes)


def test_bad_input_through_the_python_api_raises_decay_errors(tracking_uri: str,
                                                              profiled: str) -> None:
    with pytest.raises(md.DataError, match="window is empty"):
        md.evaluate(profiled, make_frame(10, 1).iloc[:0], tracking_uri=tracking_uri)
    with pytest.raises(md.RegistryError, match="no version 5"):
        md.evaluate("models:/churn/5", make_frame(10, 1), tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match="timestamp_unit 'ms' reads the timestamp column, "
                       "and none is named"):
        md.monitor(profiled, make_frame(300, 1), chunk_size=100, timestamp_unit="ms", log=False,
                   tracking_uri=tracking_uri)


ACCEPTED = {
    "an all-null feature": lambda w: w.assign(x1=np.nan),
    "a constant feature": lambda w: w.assign(x2=3.0),
    "huge values": lambda w: w.assign(x1=w["x1"] * 1e300),
    "empty strings as a category": lambda w: w.assign(color=""),
    "one row": lambda w: w.iloc[:1],
    "a million distinct categories": lambda w: pd.concat([w] * 500, ignore_index=True).assign(
        color=lambda f: "c" + pd.Series(np.arange(len(f)), dtype="int64").astype(str)),
}


@pytest.mark.parametrize("change", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_odd_but_valid_windows_are_evaluated_and_reported(tracking_uri: str, profiled: str,
                                                          change: Callable[[pd.DataFrame],
                                                                           pd.DataFrame]) -> None:
    window = change(make_frame(2000, 8))
    report = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert report.rows == len(window)
    assert all(np.isfinite(v) for k, v in report.metrics.items() if not k.startswith("est."))
    if window["x1"].isna().all():
        assert report.metrics["quality.x1.missing_rate"] == 1.0
        assert "drift.x1.ks" not in report.metrics
        assert any("drift of 'x1' left out: no finite values in the window" in n
                   for n in report.notes)
    if (window["color"].str.startswith("c")).all():
        assert report.metrics["drift.color.unseen_share"] == 1.0


def test_duplicated_columns_are_refused_through_the_api(tracking_uri: str, profiled: str) -> None:
    window = make_frame(200, 8)
    twice = pd.concat([window, window[["x1"]]], axis=1)
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match="column 'x1' appears more than once in the window"):
        md.evaluate(profiled, twice, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before


def test_a_profile_with_a_million_distinct_categories_stays_small() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id_like": [f"user-{i}" for i in range(1_000_000)],
                          "x": rng.normal(size=1_000_000)})
    profile = md.build_profile(frame, band_chunks=0)
    assert len(profile.to_json()) < 20_000  # every value seen once: all folded into "other"
    summary = profile.features["id_like"]
    assert summary.categories == () and summary.other == 1_000_000  # type: ignore[union-attr]


def test_a_second_profile_replaces_the_first(tracking_uri: str, profiled: str) -> None:
    window = make_frame(1000, 8)
    before = md.evaluate(profiled, window, tracking_uri=tracking_uri)
    first_sha = md.load_profile(profiled, tracking_uri=tracking_uri).sha256()
    second = md.build_profile(make_frame(3000, 5, shift=0.5), target="label", prediction="score")
    md.attach_profile(profiled, second, tracking_uri=tracking_uri)
    assert md.load_profile(profiled, tracking_uri=tracking_uri).sha256() == second.sha256()
    # the same rows judged against the new profile are a new evaluation, and runs say which
    after = md.evaluate(profiled, window, tracking_uri=tracking_uri)
    assert not after.skipped and after.run_id != before.run_id
    assert after.metrics["drift.x1.wasserstein"] != before.metrics["drift.x1.wasserstein"]
    client = registry.client_for(tracking_uri)
    assert [client.get_run(r.run_id).data.tags["mlflow_decay.profile_sha256"]  # type: ignore[arg-type]
            for r in (before, after)] == [first_sha, second.sha256()]
    assert md.evaluate(profiled, window, tracking_uri=tracking_uri).skipped


# -- issue 11: profile options naming the wrong columns, nested references ------------------------
PROFILE_OPTIONS: list[tuple[str, Callable[[], pd.DataFrame], list[str], str]] = [
    ("--categorical naming an absent column", lambda: make_frame(300, 5),
     ["--categorical", "colour"], "column 'colour' is missing from the reference"),
    ("--numerical naming the label", lambda: make_frame(300, 5),
     ["--numerical", "label"], "column 'label' is listed as numerical but is not a feature"),
    ("--exclude naming an absent column", lambda: make_frame(300, 5),
     ["--exclude", "x9"], "column 'x9' is missing from the reference"),
    ("text that is no time as --timestamp-column", lambda: make_frame(300, 5),
     ["--timestamp-column", "color"], "column 'color': expected timestamps"),
    ("the label also named as a feature", lambda: make_frame(300, 5),
     ["--features", "x1,label"], "column 'label' is the label column; it cannot also be a feature"),
    ("the label also named as the id", lambda: make_frame(300, 5),
     ["--id-column", "label"], "column 'label' is named as both the label column and the id column"),
    ("a nested feature column", lambda: make_frame(300, 5).assign(tags=[[1, 2]] * 300), [],
     "column 'tags' holds nested values (lists, structs or maps): it cannot be a feature"),
    # the exclusion won without a word
    ("a feature also excluded", lambda: make_frame(300, 5), ["--features", "x1,x2",
                                                             "--exclude", "x2"],
     "column 'x2' is listed both as a feature and as excluded"),
]


@pytest.mark.parametrize(("table", "extra", "message"), [p[1:] for p in PROFILE_OPTIONS],
                         ids=[p[0] for p in PROFILE_OPTIONS])
def test_profile_refuses_options_naming_the_wrong_columns_and_changes_nothing(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path,
        table: Callable[[], pd.DataFrame], extra: list[str], message: str) -> None:
    uri = new_version()
    data = _write(table(), tmp_path / "ref.parquet")
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["profile", uri, "--data", str(data), "--target", "label",
                                       "--prediction", "score", *extra,
                                       "--tracking-uri", tracking_uri])
    _refused(result, message, tracking_uri, before)


@pytest.mark.parametrize("task", [[], ["--task", "regression"]])
def test_profile_refuses_two_prediction_columns_for_one_score_and_changes_nothing(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path,
        task: list[str]) -> None:
    """Before: the command kept the first column as the score and made the second a feature,
    so scikit-learn's two probability columns (p_0, p_1) gave a stored profile of ROC AUC 0.14."""
    uri = new_version()
    frame = make_frame(300, 5)
    data = _write(frame.assign(p_0=1 - frame["score"]), tmp_path / "ref.csv")
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["profile", uri, "--data", str(data), "--target", "label",
                                       "--prediction", "p_0,score", *task,
                                       "--tracking-uri", tracking_uri])
    kind = task[1] if task else "binary"
    _refused(result, f"{kind} task takes one prediction column, got 2 ('p_0', 'score')",
             tracking_uri, before)
    assert ("--task multiclass" in result.output) == (kind == "binary")


# -- registry area (issue 11): tracking stores that cannot be used -------------------------------
def _not_a_database(tmp: Path, tracking_uri: str) -> str:
    (tmp / "file.txt").write_text("not a database\n")
    return f"sqlite:///{tmp / 'file.txt'}"


def _read_only_store(tmp: Path, tracking_uri: str) -> str:
    """A copy of the store made immutable (``chattr +i``: read-only even for root)."""
    path = tmp / "ro" / "mlflow.db"
    path.parent.mkdir()
    shutil.copy(tracking_uri.removeprefix("sqlite:///"), path)
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here: no store read-only for root")
    return f"sqlite:///{path}"


def _read_only_watched_store(tmp: Path, tracking_uri: str) -> str:
    """A read-only copy of the store once models:/churn/1 has a window (and so its experiment)."""
    md.evaluate("models:/churn/1", make_frame(300, 9), tracking_uri=tracking_uri)
    return _read_only_store(tmp, tracking_uri)


STORES = [
    ("a file that is not a database", _not_a_database,
     ["status", "churn"], "could not be opened: (sqlite3.DatabaseError) file is not a database"),
    ("a file that is not a database", _not_a_database,
     ["evaluate", "models:/churn/1", "--data", "w.csv"], "file is not a database"),
    ("a read-only store", _read_only_store,
     ["evaluate", "models:/churn/1", "--data", "w.csv"], "attempt to write a readonly database"),
    ("a read-only store", _read_only_watched_store,  # restore needs a stage (trial 3)
     ["restore", "models:/churn/1", "--reason", "looked"], "attempt to write a readonly database"),
]
# trial 3: the version was evaluated before, so the first write is a run's, which
# SQLAlchemy reports after a preamble ("raised as a result of Query-invoked autoflush")
STORES += [
    ("a read-only store of a version evaluated before", _read_only_watched_store,
     ["evaluate", "models:/churn/1", "--data", "w.csv"],
     "MlflowException: (sqlite3.OperationalError) attempt to write a readonly database"),
]



def _deleted_experiment(tmp: Path, tracking_uri: str) -> str:
    """The store once models:/churn/1 has a window, and its experiment was deleted (in the UI)."""
    md.evaluate("models:/churn/1", make_frame(300, 9), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    client.delete_experiment(client.get_experiment_by_name("mlflow-decay/churn").experiment_id)
    return tracking_uri


# trial 4: "RestException: INVALID_PARAMETER_VALUE: The experiment 1 must be in the
# 'active' state", naming neither the experiment nor what to do
DELETED = ("experiment 'mlflow-decay/churn' (id 2) is deleted: restore it (mlflow experiments "
           "restore --experiment-id 2), or use another with --experiment NAME")
STORES += [
    ("a deleted experiment", _deleted_experiment,
     ["evaluate", "models:/churn/1", "--data", "w.csv"], DELETED),
    ("a deleted experiment", _deleted_experiment,
     ["restore", "models:/churn/1", "--reason", "looked"], DELETED),
    # read: history printed an empty table while status showed the version degraded
    ("a deleted experiment", _deleted_experiment, ["history", "churn"], DELETED),
]


@pytest.mark.parametrize(("make", "args", "message"), [s[1:] for s in STORES],
                         ids=[f"{s[0]}: {s[2][0]}" for s in STORES])
def test_stores_that_cannot_be_used_are_refused_in_one_line(
        tracking_uri: str, profiled: str, tmp_path: Path, make: Callable[[Path, str], str],
        args: list[str], message: str) -> None:
    make_frame(300, 2).to_csv("w.csv", index=False)  # the test's own directory
    store = make(tmp_path, tracking_uri)
    try:
        watched = tracking_uri if store.endswith("file.txt") else store
        before = registry_snapshot(watched)
        result = CliRunner().invoke(main, [*args, "--tracking-uri", store])
        _refused(result, message, watched, before)
        if store.endswith("file.txt"):  # and through the API, a RegistryError
            with pytest.raises(md.RegistryError, match="could not be opened"):
                md.evaluate(profiled, make_frame(50, 3), tracking_uri=store)
    finally:
        subprocess.run(["chattr", "-i", store.removeprefix("sqlite:///")], capture_output=True)


# ---- trial 5: the Python API as a notebook calls it. Arguments of the wrong type
# were tracebacks (a column named by an int: TypeError, AttributeError; a DataFrame or a dict
# given as the profile; a policy given as a dict; labels with a column twice; a chunk size of
# 1000.0) or misleading lines (a list given as one string counted its letters or characters:
# "got 22"; an id column made the index by set_index was "missing" with no word of the index;
# an id column named 0 fell back to the profile's, silently; a pyarrow Table or a Series was
# only "got Table"). (case id, call given the profiled version's URI and the store, message)
def _window(rows: int = 300) -> pd.DataFrame:
    return make_frame(rows, 5).assign(
        id=lambda f: np.arange(len(f)),
        ts=lambda f: pd.Timestamp("2026-02-01", tz="UTC") + pd.to_timedelta(np.arange(len(f)),
                                                                           unit="min"))


API: list[tuple[str, Callable[[str, str], object], str]] = [
    ("the target named by an int",
     lambda uri, t: md.build_profile(_window(), target=5, prediction="score"),
     "target must be a column name (a string), got int 5"),
    ("the prediction named by an int",
     lambda uri, t: md.build_profile(_window(), target="label", prediction=4),
     "prediction must be a column name or a list of them, got int 4"),
    ("the id column named by an int",
     lambda uri, t: md.build_profile(_window(), target="label", prediction="score",
                                     id_column=0),
     "id_column must be a column name (a string), got int 0"),
    ("a feature named by an int", lambda uri, t: md.build_profile(
        _window(), target="label", prediction="score", features=["x1", 2]),
     "each of features must be a column name (a string), got int 2"),
    ("the data attached as the profile",
     lambda uri, t: md.attach_profile(uri, _window(), tracking_uri=t),
     "profile must be a Profile (from md.build_profile, md.load_profile or md.Profile.from_json), "
     "got DataFrame"),
    ("a profile's dict attached", lambda uri, t: md.attach_profile(
        uri, md.load_profile(uri, tracking_uri=t).to_dict(), tracking_uri=t),
     "profile must be a Profile"),
    ("a policy given as a dict", lambda uri, t: md.evaluate(
        uri, _window(), policy={"hysteresis": {"min_rows": 1}}, tracking_uri=t),
     "policy must be a Policy or the path of a policy TOML file, got dict"),
    ("a pyarrow Table as the window", lambda uri, t: md.evaluate(
        uri, __import__("pyarrow").Table.from_pandas(_window()), tracking_uri=t),
     "got a pyarrow Table: call .to_pandas() first"),
    ("a numpy array as the reference",
     lambda uri, t: md.build_profile(_window()[["x1", "x2"]].to_numpy()),
     "got a numpy array, which names no columns"),
    ("a Series as the labels", lambda uri, t: md.attach_labels(
        uri, _window().set_index("id")["label"], id_column="id", label_column="label",
        tracking_uri=t),
     "attach_labels reads a pandas DataFrame; got a Series ('label'): make it a DataFrame"),
    ("labels whose ids are the index", lambda uri, t: md.attach_labels(
        uri, _window().set_index("id")[["label"]], id_column="id", label_column="label",
        tracking_uri=t),
     "column 'id' is missing from the labels (it is the DataFrame's index, not a column: "
     "frame.reset_index() makes it a column"),
    ("labels with a column twice", lambda uri, t: md.attach_labels(
        uri, _window()[["id", "label", "label"]], id_column="id", label_column="label",
        tracking_uri=t),
     "column 'label' appears more than once in the labels"),
    ("the labels' id column named 0", lambda uri, t: md.attach_labels(
        uri, _window()[["id", "label"]].set_axis([0, 1], axis=1), id_column=0,
        label_column=1, tracking_uri=t),
     "id_column must be a column name (a string), got int 0"),
    ("a chunk size of 1000.0", lambda uri, t: md.monitor(
        uri, _window(), chunk_size=1000.0, log=False, tracking_uri=t),
     "chunk size must be a positive whole number of rows, got 1000.0"),
    ("the timestamp column named by an int", lambda uri, t: md.monitor(
        uri, _window(), timestamp_column=0, every="1D", tracking_uri=t),
     "timestamp_column must be a column name (a string), got int 0"),
    ("the timestamp column is the index", lambda uri, t: md.monitor(
        uri, _window().set_index("ts"), timestamp_column="ts", every="1D", tracking_uri=t),
     "timestamp column 'ts' is missing from the data (it is the DataFrame's index"),
    ("the decision column named by an int", lambda uri, t: md.evaluate(
        uri, _window(), predicted_label=1, tracking_uri=t),
     "predicted_label must be a column name (a string), got int 1"),
    ("compare's models as one string", lambda uri, t: md.compare(
        _window(), uri, predictions=["score", "score"], tracking_uri=t),
     "compare takes a list of two model URIs (champion, challenger), got the text "
     "'models:/churn/1'"),
    ("compare's predictions as one string", lambda uri, t: md.compare(
        _window(), [uri, uri], predictions="score", tracking_uri=t),
     "give one prediction column per model (two), got 'score'"),
    ("compare's prediction column is the index", lambda uri, t: md.compare(
        _window().set_index("score"), [uri, uri], predictions=["score", "score_new"],
        tracking_uri=t),
     "prediction column 'score' is missing from the window (it is the DataFrame's index"),
    ("a restore whose reason is None",
     lambda uri, t: md.restore(uri, reason=None, tracking_uri=t),
     "restore needs a reason"),
    ("band chunks of 5.0", lambda uri, t: md.build_profile(_window(), band_chunks=5.0),
     "band_chunks must be a whole number of chunks (0 for no reference bands), got 5.0"),
    ("band chunks of None", lambda uri, t: md.build_profile(_window(), band_chunks=None),
     "band_chunks must be a whole number of chunks (0 for no reference bands), got None"),
    ("a window period of 6", lambda uri, t: md.monitor(
        uri, _window(), timestamp_column="ts", every=6, tracking_uri=t),
     "window period 6 is not a pandas offset such as 1D, 6h, 1W"),
    ("an experiment named by an int", lambda uri, t: md.evaluate(
        uri, _window(), experiment=123, tracking_uri=t),
     "experiment must be an experiment's name (a string), got int 123"),
    # the hint was frame.columns.astype(str), which makes names such as "('model', 'x1')"
    ("a window whose columns have two levels", lambda uri, t: md.evaluate(
        uri, pd.concat({"model": _window()}, axis=1), tracking_uri=t),
     "the window's columns have 2 levels (a MultiIndex, such as ('model', 'x1')): name each "
     "column by one string (frame.columns = frame.columns.droplevel(0), or join the levels)"),
    ("a DataFrame merged into a profile", lambda uri, t: md.merge_profiles(
        md.load_profile(uri, tracking_uri=t), _window()),
     "merge_profiles(a, b) merges two Profiles, got DataFrame"),
    # a sample of none of the features was stored, and every logged window then failed in
    # Evidently with a traceback, its run left RUNNING
    ("a reference sample of none of the features", lambda uri, t: md.attach_profile(
        uri, md.load_profile(uri, tracking_uri=t), reference_sample=_window()[["label"]],
        tracking_uri=t),
     "reference_sample holds no rows of the profile's features (color, level, x1, x2); it has "
     "300 rows of the columns label"),
    ("a reference sample of 0 rows", lambda uri, t: md.attach_profile(
        uri, md.load_profile(uri, tracking_uri=t), reference_sample=_window(), sample_rows=0,
        tracking_uri=t),
     "sample_rows must be a positive whole number of rows, got 0"),
]

# trial 6: a threshold on the logit scale for a model whose outputs are logits
API += [
    ("a logit as the threshold", lambda uri, t: md.build_profile(
        make_frame(300, 1).assign(score=lambda f: np.log(f.score / (1 - f.score))),
        target="label", prediction="score", prediction_kind="logit", threshold=-1.0),
     "threshold must be a number between 0 and 1 (exclusive), got -1.0: it is a probability, "
     "also when the outputs are logits (a logit of -1 is the probability 0.2689)"),
]


@pytest.mark.parametrize(("call", "message"), [a[1:] for a in API], ids=[a[0] for a in API])
def test_the_python_api_refuses_arguments_of_the_wrong_type_in_one_line(
        tracking_uri: str, profiled: str, call: Callable[[str, str], object],
        message: str) -> None:
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DecayError) as caught:
        call(profiled, tracking_uri)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert registry_snapshot(tracking_uri) == before


def test_a_list_of_columns_given_as_one_string_is_that_one_column() -> None:
    """features="x1" was read as the columns 'x' and '1' (refused: "column 'x' is missing")."""
    frame = _window().drop(columns=["id", "ts"])
    options = {"target": "label", "prediction": "score", "band_chunks": 0}
    for name, value in (("features", "x1"), ("categorical", "level"), ("exclude", "x2")):
        one = md.build_profile(frame, **options, **{name: value})
        assert one.to_json() == md.build_profile(frame, **options, **{name: [value]}).to_json()
    assert list(md.build_profile(frame, features="x1", **options).features) == ["x1"]


def test_numpy_numbers_are_numbers_for_the_profile_options(tracking_uri: str,
                                                            new_version: Callable[..., str]) -> None:
    """A threshold read off a curve as np.float32 was refused ("must be a number"), and once
    taken it could not be written to the profile's JSON; np.int64 counts were refused too."""
    from sklearn.metrics import accuracy_score

    frame = _window(2000).drop(columns=["id", "ts"])
    threshold = np.float32(0.3)
    profile = md.build_profile(frame, target="label", prediction="score", threshold=threshold,
                               band_chunks=np.int64(4), min_category_count=np.int64(3))
    uri = new_version()
    md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    stored = md.load_profile(uri, tracking_uri=tracking_uri)
    assert stored.threshold == float(threshold)
    assert stored.performance["accuracy"] == pytest.approx(
        accuracy_score(frame["label"], frame["score"] >= threshold))
    assert stored.bands and stored == profile


def test_long_integer_ids_held_as_floats_are_refused(tracking_uri: str,
                                                     new_version: Callable[..., str]) -> None:
    """Ids of 19 digits in a CSV column with a missing value read as floats, which keep 16:
    a window stored them rounded (256 rows shared one id) and late labels were joined to the
    wrong rows, silently; labels' ids were rounded the same way."""
    from sklearn.metrics import roc_auc_score

    uri = new_version()
    md.attach_profile(uri, md.build_profile(_window(3000).drop(columns="ts"), target="label",
                                            prediction="score", id_column="id"),
                      tracking_uri=tracking_uri)
    window = make_frame(600, 6).assign(id=2**60 + np.arange(600))
    bounds = {"window_start": "2026-02-01", "window_end": "2026-02-02"}
    message = ("column 'id' of the {} holds ids as floating-point numbers of 2**53 or more "
               "(such as 1152921504606846976), which have lost their last digits")
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError) as caught:
        md.evaluate(uri, window.drop(columns="label").assign(id=lambda f: f["id"].astype(float)),
                    tracking_uri=tracking_uri, **bounds)
    assert message.format("window") in str(caught.value)
    assert registry_snapshot(tracking_uri) == before
    md.evaluate(uri, window.drop(columns="label"), tracking_uri=tracking_uri, **bounds)
    labels = window[["id", "label"]]
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError) as caught:
        md.attach_labels(uri, labels.astype({"id": float}), tracking_uri=tracking_uri)
    assert message.format("labels") in str(caught.value)
    assert registry_snapshot(tracking_uri) == before
    [joined] = md.attach_labels(uri, labels, tracking_uri=tracking_uri)
    assert joined.labelled == 600
    assert joined.metrics["perf.roc_auc"] == pytest.approx(
        roc_auc_score(window["label"], window["score"]))


def test_a_window_evidently_cannot_read_is_still_evaluated_and_logged(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """With a reference sample stored, a window whose feature is all missing (a feed outage:
    what the quality rules are for) failed in Evidently's page with a traceback, its run left
    RUNNING, on every try."""
    uri = new_version()
    reference = make_frame(3000, 1)
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score"),
                      reference_sample=reference, sample_rows=300, tracking_uri=tracking_uri)
    report = md.evaluate(uri, make_frame(500, 2).assign(x1=np.nan), tracking_uri=tracking_uri,
                         window_start="2026-02-01", window_end="2026-02-02")
    assert report.metrics["quality.x1.missing_rate"] == 1.0
    assert any(n.startswith("Evidently report left out: ValueError: An empty column 'x1'")
               for n in report.notes)
    run = registry.client_for(tracking_uri).get_run(report.run_id)  # type: ignore[arg-type]
    assert run.info.status == "FINISHED"


# -- trial 6: a challenger reading a feature the window lacks --------------------------
def test_compare_names_the_version_whose_column_the_window_lacks(
        tracking_uri: str, profiled: str, new_version: Callable[..., str],
        tmp_path: Path) -> None:
    """Before: "feature column 'age' is missing from the window", with no word of which of the
    two versions reads it (a challenger trained on more features than the champion)."""
    challenger = new_version()
    reference = make_frame(2000, 3).assign(age=lambda f: f.x1 * 10 + 40)
    md.attach_profile(challenger, md.build_profile(reference, target="label", prediction="score",
                                                   band_chunks=0), tracking_uri=tracking_uri)
    data = _write(make_frame(500, 2), tmp_path / "w.csv")
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["compare", profiled, challenger, "--data", str(data),
                                       "--tracking-uri", tracking_uri])
    _refused(result, f"{challenger}, the challenger: feature column 'age' is missing from the window",
             tracking_uri, before)


# -- trial 6: late labels whose ids are written otherwise than the window's ------------
def test_late_labels_matching_no_id_show_how_each_side_writes_them(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: "none of the 600 labelled ids matches a row id stored by the 1 window(s)", with
    no sign that the window stored '0000012' where the labels say 12."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(2000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(600, 2).assign(id=[f"{i:07d}" for i in range(600)])
    md.evaluate(uri, window.drop(columns="label"), tracking_uri=tracking_uri,
                window_start="2026-02-01", window_end="2026-02-02")
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError) as caught:
        md.attach_labels(uri, window[["id", "label"]].astype({"id": int}), id_column="id",
                         tracking_uri=tracking_uri)
    assert ("matches a row id stored by the 1 window(s) of models:/churn/1 that stored ids "
            "(labelled: '0', '1', '2'; stored: '0000000', '0000001', '0000002'); labelled id '0' is "
            "stored as '0000000': ids match as written, except that the numbers 7 and 7.0 and the "
            "text '7' are one id"
            ) in str(caught.value)
    assert registry_snapshot(tracking_uri) == before


def test_flags_may_be_given_twice(tracking_uri: str, profiled: str) -> None:
    make_frame(300, 2).to_csv("w.csv", index=False)
    result = CliRunner().invoke(main, ["evaluate", profiled, "--data", "w.csv", "--no-log",
                                       "--no-log", "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
