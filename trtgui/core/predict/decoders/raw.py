"""Output statistics (every prediction carries them) and the "raw" kind: statistics only, for
outputs no other decoder reads."""

from __future__ import annotations

import math

import numpy as np

from trtgui.core.predict.decoders.base import (
    FALLBACK_KIND,
    DecodeContext,
    Decoder,
    Outputs,
    OutputStats,
    Prediction,
    register,
)

HISTOGRAM_BINS = 32


def output_stats(name: str, array: np.ndarray, bins: int = HISTOGRAM_BINS) -> OutputStats:
    a = np.asarray(array)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    numeric = a.dtype.kind in "biuf"
    values = a.astype(np.float64, copy=False).ravel() if numeric else np.zeros(0)
    finite_mask = np.isfinite(values)
    nan_count = int(np.isnan(values).sum()) if numeric else 0
    inf_count = int(values.size - finite_mask.sum() - nan_count)
    finite = values[finite_mask] if not finite_mask.all() else values
    if finite.size:
        lo, hi = float(np.min(finite)), float(np.max(finite))
        counts, edges = np.histogram(finite, bins=bins, range=(lo, hi if hi > lo else lo + 1))
        mean, std = float(finite.mean()), float(finite.std())
    else:
        lo = hi = mean = std = math.nan
        counts, edges = np.zeros(bins, np.int64), np.linspace(0, 1, bins + 1)
    return OutputStats(
        name=name,
        shape=tuple(int(d) for d in a.shape),
        dtype=str(a.dtype),
        min=lo,
        max=hi,
        mean=mean,
        std=std,
        nan_count=nan_count,
        inf_count=inf_count,
        histogram=tuple(int(c) for c in counts),
        bin_edges=tuple(float(e) for e in edges),
    )


def all_stats(outputs: Outputs) -> tuple[OutputStats, ...]:
    return tuple(output_stats(name, array) for name, array in outputs.items())


def decode(outputs: Outputs, ctx: DecodeContext) -> Prediction:
    return Prediction(kind=FALLBACK_KIND, image_size=ctx.image_size, stats=ctx.stats)


register(Decoder(kind=FALLBACK_KIND, title="Raw outputs (statistics only)", rank=90, decode=decode))
