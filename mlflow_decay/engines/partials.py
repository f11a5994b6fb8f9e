"""Mergeable partial statistics of part of a table: what the Parquet and Spark engines compute
batch by batch (or partition by partition) and merge into a profile or a window's evaluation.

A profile takes two passes. The first merges the batches' summaries (counts, moments, extremes,
category counts and exact values are exact; the quantile sketch merges within its tolerance) and
keeps a uniform sample of labels and outputs. The second counts the histograms exactly on the
final bin edges, accumulates the PCA's Gram matrix, and keeps the rows of the band chunks. The
calibration maps, loss models and reference performance are fitted on the sample: exact when the
table has at most ``SAMPLE_ROWS`` rows, a uniform sample of it otherwise.

An evaluation takes one pass: drift, data quality, multivariate and business metrics come from
the merged window statistics, exactly as in memory; estimated and realized performance from the
sample of model outputs and labels.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.columns import Columns, ProfileOptions
from ..core.evaluation import Evaluation, add_performance, evaluate_stats, prediction_series
from ..core.frames import check_window, predicted_classes, prediction_values, require_exact_ids
from ..core.mergeable import merge_all
from ..core.policy import Policy
from ..core.policy_file import DEFAULT_POLICY
from ..core.profile import (
    CategoricalSummary,
    NumericSummary,
    Profile,
    Summary,
    optional_summary,
    summary_from_dict,
    summary_to_dict,
)
from ..core.summarize import (
    fold_rare,
    merge_optional,
    merge_summaries,
    new_profile,
    pca_layout,
    summarize_categorical,
    summarize_columns,
    summarize_numeric,
    summarize_target,
)
from ..core.supervision import supervise
from ..core.window import WindowStats, window_stats
from ..errors import DataError
from ..stats.multivariate import Layout, gram, pca_from_gram
from ..stats.schema import Kind, category_array, to_numeric
from .sources import ColumnKind, Fingerprint

#: Rows of the uniform sample kept for fitting calibration and measuring performance.
SAMPLE_ROWS = 100_000

#: Categories a partial summary keeps per column before the final top-K cut.
PARTIAL_TOP_K = 10_000

_KEY = "__mlflow_decay_sample_key__"


@dataclass
class Sample:
    """A uniform random sample of at most ``size`` rows of a stream of batches.

    Every row gets a random key and the rows with the smallest keys are kept, so samples of
    disjoint parts merge into a uniform sample of the whole.
    """

    size: int = SAMPLE_ROWS
    seed: int = 0
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    frame: pd.DataFrame | None = None
    seen: int = 0

    def add(self, batch: pd.DataFrame) -> None:
        rng = np.random.default_rng([self.seed, self.seen])
        self.seen += len(batch)
        self._keep(rng.random(len(batch)), batch.reset_index(drop=True))

    def merge(self, other: Sample) -> Sample:
        out = Sample(self.size, self.seed, self.keys, self.frame, self.seen + other.seen)
        if other.frame is not None:
            out._keep(other.keys, other.frame)
        return out

    def to_bytes(self) -> bytes:
        """The sampled rows and their keys as Parquet (to ship a partition's sample)."""
        frame = self.frame if self.frame is not None else pd.DataFrame()
        buffer = io.BytesIO()
        frame.assign(**{_KEY: self.keys}).to_parquet(buffer, index=False)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, seen: int, size: int = SAMPLE_ROWS) -> Sample:
        frame = pd.read_parquet(io.BytesIO(data))
        keys = frame.pop(_KEY).to_numpy(dtype=float)
        return cls(size, 0, keys, frame if len(frame) else None, seen)

    def _keep(self, keys: np.ndarray, frame: pd.DataFrame) -> None:
        if self.frame is not None:
            keys = np.concatenate([self.keys, keys])
            frame = pd.concat([self.frame, frame], ignore_index=True)
        if len(keys) > self.size:
            pick = np.sort(np.argpartition(keys, self.size - 1)[:self.size])
            keys, frame = keys[pick], frame.iloc[pick].reset_index(drop=True)
        self.keys, self.frame = keys, frame

# -- profiles -----------------------------------------------------------------------------------
@dataclass
class ProfilePartial:
    """Summaries of part of a reference table (first pass): they merge into the whole's."""

    rows: int
    features: dict[str, Summary]
    target: Summary | None
    prediction: Summary | None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "target": summary_to_dict(self.target),
                "prediction": summary_to_dict(self.prediction),
                "features": {n: summary_to_dict(s) for n, s in self.features.items()}}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ProfilePartial:
        return cls(int(obj["rows"]), {n: summary_from_dict(d) for n, d in obj["features"].items()},
                   optional_summary(obj["target"]), optional_summary(obj["prediction"]))

    def merge(self, other: ProfilePartial) -> ProfilePartial:
        return ProfilePartial(
            self.rows + other.rows,
            {n: merge_summaries(s, other.features[n]) for n, s in self.features.items()},
            merge_optional(self.target, other.target),
            merge_optional(self.prediction, other.prediction))

def profile_partial(batch: pd.DataFrame, kinds: dict[str, Kind], columns: Columns,
                    options: ProfileOptions) -> ProfilePartial:
    """First-pass statistics of one batch (model outputs read as ``options.prediction_kind``)."""
    target, pred_cols, task = columns.target, columns.prediction_columns, options.task
    target_summary = summarize_target(batch[target], target, task) if target else None
    prediction: Summary | None = None
    if pred_cols and task != "multiclass":  # multiclass: predicted classes, in the second pass
        prediction = summarize_numeric(prediction_values(batch, pred_cols, task,
                                                         options.prediction_kind))
    return ProfilePartial(len(batch), summarize_columns(batch, kinds, PARTIAL_TOP_K),
                          target_summary, prediction)

@dataclass
class ProfileCounts:
    """Second-pass statistics: histograms on the final edges, the PCA Gram matrix, predicted
    class counts (multiclass) and the rows of the band chunks."""

    histograms: dict[str, np.ndarray]
    gram: np.ndarray | None
    predicted: CategoricalSummary | None = None
    chunks: dict[int, list[pd.DataFrame]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The counts (not the chunk rows) as JSON-safe numbers."""
        return {"histograms": {k: v.tolist() for k, v in self.histograms.items()},
                "gram": None if self.gram is None else self.gram.tolist(),
                "predicted": summary_to_dict(self.predicted)}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ProfileCounts:
        predicted = optional_summary(obj["predicted"])
        assert predicted is None or isinstance(predicted, CategoricalSummary)
        return cls({k: np.asarray(v, dtype=np.int64) for k, v in obj["histograms"].items()},
                   None if obj["gram"] is None else np.asarray(obj["gram"], dtype=float),
                   predicted)

    def merge(self, other: ProfileCounts) -> ProfileCounts:
        chunks = {k: list(v) for k, v in self.chunks.items()}
        for k, parts in other.chunks.items():
            chunks.setdefault(k, []).extend(parts)
        return ProfileCounts(
            {n: h + other.histograms[n] for n, h in self.histograms.items()},
            None if self.gram is None or other.gram is None else self.gram + other.gram,
            merge_optional(self.predicted, other.predicted), chunks)  # type: ignore[arg-type]

def profile_counts(batch: pd.DataFrame, profile: Profile, *, pca: Layout | None = None,
                   offset: int = 0, chunk_rows: Sequence[tuple[int, int]] = ()) -> ProfileCounts:
    """Second-pass statistics of one batch whose first row is row ``offset`` of the table;
    ``pca`` gives the PCA's columns and their means (for the Gram matrix)."""
    histograms = {name: _histogram(s, batch[name], name) for name, s in _numeric_roles(profile)
                  if name in batch.columns}
    if profile.prediction_summary is not None and profile.task != "multiclass":
        histograms["\0prediction"] = _histogram(
            profile.prediction_summary,
            pd.Series(prediction_values(batch, profile.prediction_columns, profile.task,
                                        profile.prediction_kind)),
            "prediction")
    predicted = None
    if profile.task == "multiclass" and profile.prediction_columns:
        predicted = summarize_categorical(predicted_classes(
            prediction_values(batch, profile.prediction_columns, "multiclass",
                              profile.prediction_kind), profile.classes),
            PARTIAL_TOP_K)
    chunks: dict[int, list[pd.DataFrame]] = {}
    for i, (start, stop) in enumerate(chunk_rows):
        lo, hi = max(start - offset, 0), min(stop - offset, len(batch))
        if lo < hi:
            chunks[i] = [batch.iloc[lo:hi].copy()]  # a slice would keep the whole batch
    return ProfileCounts(histograms, None if pca is None else gram(batch, pca), predicted, chunks)

def _numeric_roles(profile: Profile) -> list[tuple[str, NumericSummary]]:
    out = [(n, s) for n, s in profile.features.items() if isinstance(s, NumericSummary)]
    if isinstance(profile.target_summary, NumericSummary) and profile.target is not None:
        out.append((profile.target, profile.target_summary))
    return out

def _histogram(summary: Summary, series: pd.Series, name: str) -> np.ndarray:
    assert isinstance(summary, NumericSummary)
    values = to_numeric(series, name)
    finite = values[np.isfinite(values)]
    bins = np.searchsorted(np.asarray(summary.edges), finite, side="right")
    return np.bincount(bins, minlength=len(summary.edges) + 1)

def first_pass(batches: Iterable[pd.DataFrame], kinds: dict[str, Kind], columns: Columns,
               options: ProfileOptions, *, sample: Sample, needed: Sequence[str] = ()
               ) -> ProfilePartial | None:
    """Merged first-pass statistics of batches (``None`` if there were none); ``sample`` takes
    their labels and model outputs, and every batch must hold the ``needed`` columns."""
    kept = sample_columns(columns, options.task, list(kinds))

    def parts() -> Iterator[ProfilePartial]:
        for batch in batches:
            check_columns(batch, needed, "reference")
            part = profile_partial(batch, kinds, columns, options)
            if kept:
                sample.add(batch[kept])
            del batch  # released before the next one is read
            yield part

    return merge_all(parts())

def sample_columns(columns: Columns, task: str, features: Sequence[str]) -> list[str]:
    """Columns the sample keeps: labels, model outputs and decisions (and, for regression, the
    features the loss models read); none without both labels and outputs."""
    target, pred_cols, predicted_label = (columns.target, columns.prediction_columns,
                                          columns.predicted_label)
    if target is None or not pred_cols:
        return []
    return list(dict.fromkeys([target, *pred_cols, *([predicted_label] if predicted_label else ()),
                               *(features if task == "regression" else ())]))

def first_pass_profile(merged: ProfilePartial, sample: Sample, *, kinds: dict[str, Kind],
                       schema: dict[str, str], columns: Columns,
                       options: ProfileOptions) -> Profile:
    """The profile the first pass gives: merged summaries, and what the sample supervises."""
    summaries = {n: fold_rare(s, options.min_category_count) for n, s in merged.features.items()}
    numeric = [n for n, k in kinds.items() if k == "numerical"]
    known = supervise(sample.frame if sample.frame is not None else pd.DataFrame(), columns,
                      options, target_summary=merged.target, numerical=numeric,
                      categorical=[n for n, k in kinds.items() if k != "numerical"])
    return new_profile(columns, options, known, features=summaries, schema=schema,
                       rows=merged.rows, prediction_summary=merged.prediction,
                       target_summary=merged.target)

def pca_features(profile: Profile) -> Layout | None:
    """The columns the PCA uses (:func:`~mlflow_decay.core.summarize.pca_layout`), with their
    means and scales; ``None`` when there are fewer than two."""
    layout = pca_layout(profile.features)
    return layout if layout.width >= 2 else None

def with_counts(profile: Profile, counts: ProfileCounts, layout: Layout | None) -> Profile:
    """The profile with exact histograms, the PCA fitted on the Gram matrix, predicted classes."""
    def recount(summary: Summary | None, key: str) -> Summary | None:
        if isinstance(summary, NumericSummary) and key in counts.histograms:
            return replace(summary, counts=tuple(int(c) for c in counts.histograms[key]))
        return summary

    features = {n: recount(s, n) for n, s in profile.features.items()}
    prediction = (fold_rare(counts.predicted, 1) if counts.predicted is not None
                  else recount(profile.prediction_summary, "\0prediction"))
    target = recount(profile.target_summary, profile.target or "")
    multivariate = (None if counts.gram is None or layout is None else
                    pca_from_gram(counts.gram, layout, profile.rows))
    return replace(profile, features=features,  # type: ignore[arg-type]
                   prediction_summary=prediction, target_summary=target, multivariate=multivariate)

def check_columns(batch: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Every batch of a source must hold the columns the first one had."""
    for column in columns:
        if column not in batch.columns:
            raise DataError(f"column {column!r} is missing from part of the {what} "
                            "(a later file or batch lacks it)")

# -- windows ------------------------------------------------------------------------------------
@dataclass
class WindowPartial:
    """What one pass over (part of) a window gives: its statistics, a sample of its model
    outputs and labels, and the fingerprint of its rows."""

    stats: WindowStats | None
    sample: Sample
    fingerprint: bytes
    outputs: Path | None = None

#: The window's own labels among its stored outputs (late labels are joined onto them).
OWN_LABEL = "__label__"


def stored_outputs(profile: Profile, batch: pd.DataFrame) -> pd.DataFrame:
    """What a window stores of its rows for labels that arrive later: ids and decisions as
    normalised text (as labels are matched: 7, 7.0 and "7" alike), model outputs as numbers,
    and its own labels as ``OWN_LABEL`` (text, a regression's as numbers; missing where it has
    none)."""
    assert profile.id_column is not None
    require_exact_ids(batch[profile.id_column], profile.id_column, "window")
    texts = [profile.id_column, *([profile.predicted_label] if profile.predicted_label else [])]
    frame = pd.DataFrame({**{c: category_array(batch[c]) for c in texts},
                          **{c: to_numeric(batch[c], c) for c in profile.prediction_columns}})
    target = profile.target
    if target is not None and profile.task == "regression":
        frame[OWN_LABEL] = (to_numeric(batch[target], target) if target in batch.columns
                            else np.full(len(batch), np.nan))
    elif target is not None:
        frame[OWN_LABEL] = (category_array(batch[target]) if target in batch.columns
                            else np.full(len(batch), None, dtype=object))
    return frame


def missing_ids(outputs: pd.DataFrame | Path, column: str) -> int:
    """The rows of a window's stored outputs (:func:`stored_outputs`, in memory or written by
    :class:`OutputsWriter`) without an id in ``column``: no late label can join them."""
    if isinstance(outputs, pd.DataFrame):
        return int(outputs[column].isna().sum())
    import pyarrow.parquet as pq

    return int(pq.read_table(outputs, columns=[column]).column(0).null_count)


class OutputsWriter:
    """A window's row ids and model outputs (:func:`stored_outputs`), written to a Parquet
    file batch by batch (for labels that arrive later), when the profile names an id column
    and every batch holds it; every batch has one schema. :meth:`close` returns the file, or
    ``None`` when nothing was stored (the file is removed).
    """

    def __init__(self, profile: Profile, path: Path) -> None:
        self.profile = profile
        self.path = path
        self.writer: Any = None
        self.complete = profile.id_column is not None

    def add(self, batch: pd.DataFrame) -> None:
        if not self.complete:
            return
        if self.profile.id_column not in batch.columns:  # part of the window has no ids
            self.complete = False
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = stored_outputs(self.profile, batch)
        number = {*self.profile.prediction_columns,
                  *([OWN_LABEL] if self.profile.task == "regression" else [])}
        schema = pa.schema([(c, pa.float64() if c in number else pa.string())
                            for c in frame.columns])
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.path), schema)
        self.writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))

    def close(self) -> Path | None:
        if self.writer is not None:
            self.writer.close()
        if self.writer is None or not self.complete:
            self.path.unlink(missing_ok=True)
            return None
        return self.path

def fingerprint_columns(profile: Profile, business: Sequence[str] = (),
                        outputs: Sequence[str] | None = None) -> dict[str, ColumnKind]:
    """The columns a window's fingerprint reads: what the profile reads (features, model
    ``outputs`` (default the profile's), target, id, decision and timestamp columns) and the
    ``business`` KPI columns, each with the kind it is read as."""
    columns: dict[str, ColumnKind] = {
        name: "number" if isinstance(summary, NumericSummary) else "category"
        for name, summary in profile.features.items()}
    columns.update({c: "number" for c in (profile.prediction_columns if outputs is None
                                          else outputs)})
    columns.update({c: "number" for c in business})
    if profile.target is not None:
        columns[profile.target] = "number" if profile.task == "regression" else "category"
    for column in (profile.id_column, profile.predicted_label):
        if column is not None:
            columns[column] = "category"
    if profile.timestamp_column is not None:
        columns[profile.timestamp_column] = "time"
    return columns

def window_partial(profile: Profile, batches: Iterable[pd.DataFrame],
                   business: Sequence[str] = (), seed: int = 0,
                   outputs: Path | None = None, fingerprint: bool = True) -> WindowPartial:
    """Count a window's batches (one pass, memory bounded by a batch and the sample), with the
    means of the ``business`` KPI columns; with ``outputs``, the row ids and model outputs go
    to that Parquet file (see :class:`OutputsWriter`; ``WindowPartial.outputs`` says whether
    they were stored). ``fingerprint=False`` leaves the rows' fingerprint out (``b""``)."""
    writer = OutputsWriter(profile, outputs) if outputs is not None else None
    try:
        part = _window_partial(profile, batches, business, seed, writer, fingerprint)
    finally:
        stored = writer.close() if writer is not None else None
    part.outputs = stored
    return part

def _window_partial(profile: Profile, batches: Iterable[pd.DataFrame], business: Sequence[str],
                    seed: int, writer: OutputsWriter | None, fingerprint: bool
                    ) -> WindowPartial:
    sample = Sample(SAMPLE_ROWS, seed)
    digest = Fingerprint(fingerprint_columns(profile, business)) if fingerprint else None
    keep = list(dict.fromkeys(c for c in (
        *profile.prediction_columns, profile.target, profile.predicted_label,
        *(profile.loss_models[0].columns if profile.loss_models else ())) if c is not None))

    def parts() -> Iterator[WindowStats]:
        for batch in batches:
            if len(batch) == 0:
                continue
            check_window(profile, batch)
            if digest is not None:
                digest.add(batch)
            values = (prediction_values(batch, profile.prediction_columns, profile.task,
                                        profile.prediction_kind)
                      if profile.prediction_columns else None)
            part = window_stats(profile, batch, business=business,
                                prediction=None if values is None else prediction_series(profile,
                                                                                          values))
            if keep:
                sample.add(batch[[c for c in keep if c in batch.columns]])
            if writer is not None:
                writer.add(batch)
            del batch  # released before the next one is read
            yield part

    stats = merge_all(parts())
    return WindowPartial(stats, sample, b"" if digest is None else digest.digest())

def finish_window(profile: Profile, stats: WindowStats | None, sample: Sample,
                  policy: Policy = DEFAULT_POLICY) -> Evaluation:
    """The evaluation of a window from its merged statistics and sample."""
    if stats is None:
        raise DataError("window is empty: it has no rows to evaluate")
    result = evaluate_stats(profile, stats, policy)
    if sample.frame is not None:
        add_performance(profile, sample.frame, result)
        if sample.seen > len(sample.frame):
            result.notes.append(f"estimated and realized performance from a uniform sample of "
                                f"{len(sample.frame):,} of the window's {sample.seen:,} rows")
    return result
