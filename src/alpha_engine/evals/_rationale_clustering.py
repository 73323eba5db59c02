"""Rationale clustering: are an agent family's rationales written from a template?

Per agent **family** (:func:`agent_base`: ``sector_quant:technology`` and ``sector_quant:energy``
are one family, ``thesis_update:{team}:{ticker}`` one family for every held name), because the
template, if any, is the family's prompt or rule set; per agent id most thesis updaters would
have one rationale a run and always be thin. The rationales of each family (:data:`RATIONALE_FIELDS`)
are read from its captured ``agent_output``:

* ``macro_economist``: ``rationale``, then each ``sector_ratings[sector].rationale`` (sectors sorted);
* ``sector_quant``: each ``top[i].rationale``;
* ``sector_qual``: each ``assessments[i].note``, then ``note``;
* ``sector_peer_review``: ``rationale``;
* ``thesis_update``: ``thesis_summary``;
* ``ic_cio``: each ``decisions[i].rationale``, then ``rationale``.

The other families (``score_aggregator``, ``population_entry_handler``, ``signal_builder``) write
no prose and are never listed. A family's rationales are taken newest decision first (within a
decision, in output order) up to the cap, so only the decisions that supply them are loaded.

Then, as upstream: every digit run becomes one ``#`` (``"score 71.25"`` -> ``"score #.#"``: two
rationales that differ only in their numbers are the same template), TF-IDF over character
n-grams inside word boundaries (scikit-learn ``char_wb``, 3 to 5 characters: robust to
inflection, and n-grams never span two words, so the spacing of a template does not matter),
cosine similarity, and single linkage at cosine >= 0.75, which is the connected components of the
graph whose edges join rationales at least that similar (a tolerance of 1e-9 absorbs float
rounding at the boundary). Template concentration = the share of the rationales in the three
largest clusters; above 0.7 flags templating. Fewer than 5 rationales: the family is thin and
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ._corpus import CapturedKey, load_decision, scan_window
from ._errors import CorpusError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from alpha_engine.research import DecisionArtifact
    from alpha_engine.store import ArtifactStore

__all__ = ["RATIONALE_FIELDS", "ClusterReport", "RationaleRun", "cluster_rationales", "iso_week",
           "link_components", "normalise_digits", "rationales_of", "run_rationale_clustering"]

_DIGITS = re.compile(r"[0-9]+")
_TOLERANCE = 1e-9
_EXEMPLAR_CHARS = 400
_CLUSTERS_KEPT = 20  # the largest clusters written out (the count of all is written too)
TOP_CLUSTERS = 3


def _items(output: dict[str, Any], listed: str, text: str) -> list[str]:
    return [str(item.get(text, "")) for item in output.get(listed) or [] if isinstance(item, dict)]


def _macro(output: dict[str, Any]) -> list[str]:
    ratings = output.get("sector_ratings") or {}
    return [str(output.get("rationale", ""))] + [str((ratings[s] or {}).get("rationale", "")) for s in sorted(ratings)]


RATIONALE_FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "ic_cio": lambda o: _items(o, "decisions", "rationale") + [str(o.get("rationale", ""))],
    "macro_economist": _macro,
    "sector_peer_review": lambda o: [str(o.get("rationale", ""))],
    "sector_qual": lambda o: _items(o, "assessments", "note") + [str(o.get("note", ""))],
    "sector_quant": lambda o: _items(o, "top", "rationale"),
    "thesis_update": lambda o: [str(o.get("thesis_summary", ""))],
}
"""Agent family -> the rationales of one captured ``agent_output`` (see the module docstring)."""


def rationales_of(family: str, output: dict[str, Any]) -> list[str]:
    """The non-blank rationales of one decision of ``family`` (none for a family without prose)."""
    extract = RATIONALE_FIELDS.get(family)
    return [] if extract is None else [t for t in extract(output) if t.strip()]


def normalise_digits(text: str) -> str:
    """Every run of digits as one ``#``."""
    return _DIGITS.sub("#", text)


def iso_week(day: date) -> str:
    """``2026-W47``: the ISO year and week of ``day``."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def link_components(similarity: npt.NDArray[np.float64], threshold: float) -> list[list[int]]:
    """Single-linkage clusters at ``similarity >= threshold``: the connected components of that
    graph, each a sorted list of indices; ordered by size (largest first), then first index."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = similarity.shape[0]
    if n == 0:
        return []
    graph = csr_matrix(np.asarray(similarity >= threshold - _TOLERANCE, dtype=np.int8))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


@dataclass(frozen=True)
class ClusterReport:
    """One family's clustering (``to_json`` is its RATIONALE_ANALYSIS body, less the run fields)."""

    n: int
    clusters: list[list[int]]  # indices into the rationales, largest cluster first
    exemplars: list[str]  # the newest rationale of each cluster (as written, digits kept)
    concentration: float
    flag: bool

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "n_clusters": len(self.clusters),
                "clusters": [{"size": len(c), "share": round(len(c) / self.n, 6), "exemplar": e[:_EXEMPLAR_CHARS]}
                             for c, e in zip(self.clusters[:_CLUSTERS_KEPT], self.exemplars, strict=False)],
                "concentration": self.concentration, "flag": self.flag}


def cluster_rationales(texts: Sequence[str], *, threshold: float = 0.75,
                       concentration_threshold: float = 0.7) -> ClusterReport:
    """Cluster ``texts`` (newest first) as the module docstring says; at least one non-blank text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    normalised = [normalise_digits(t) for t in texts]
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True).fit_transform(normalised)
    similarity = (vectors @ vectors.T).toarray()  # rows are l2-normalised: the product is the cosine
    clusters = link_components(similarity, threshold)
    n = len(texts)
    concentration = round(sum(len(c) for c in clusters[:TOP_CLUSTERS]) / n, 6)
    return ClusterReport(n=n, clusters=clusters, exemplars=[texts[c[0]] for c in clusters[:_CLUSTERS_KEPT]],
                         concentration=concentration, flag=concentration > concentration_threshold)


@dataclass
class RationaleRun:
    """What one clustering run did: per family its report, or why it was skipped."""

    start: date
    end: date
    reports: dict[str, ClusterReport] = field(default_factory=dict)
    thin: dict[str, int] = field(default_factory=dict)  # family -> rationales found (< min_rationales)
    without_rationales: list[str] = field(default_factory=list)  # families seen that write no prose
    decisions_loaded: int = 0
    loaded_by_family: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # "key: why"
    scan: dict[str, Any] = field(default_factory=dict)
    complete: bool = True


def _families(keys: Iterable[CapturedKey]) -> dict[str, list[CapturedKey]]:
    out: dict[str, list[CapturedKey]] = {}
    for key in keys:
        out.setdefault(key.agent_base, []).append(key)
    for items in out.values():  # newest first across the family's agent ids
        items.sort(key=lambda k: (k.capture_date, k.run_id, k.agent_id), reverse=True)
    return out


def run_rationale_clustering(store: ArtifactStore, *, end: date, window_days: int = 56, cap: int = 500,
                             min_rationales: int = 5, threshold: float = 0.75,
                             concentration_threshold: float = 0.7,
                             deadline: Callable[[], bool] | None = None) -> RationaleRun:
    """Scan the window (each agent id capped at ``cap`` decisions while listing), read each family's
    newest ``cap`` rationales, and cluster the families that have at least ``min_rationales``."""
    scan = scan_window(store, end=end, window_days=window_days, per_agent_cap=cap,
                       include=lambda agent_id: agent_id.split(":", 1)[0] in RATIONALE_FIELDS, deadline=deadline)
    run = RationaleRun(start=scan.start, end=scan.end, complete=not scan.stopped_by_deadline)
    run.without_rationales = sorted({a.split(":", 1)[0] for a in scan.agents_seen} - set(RATIONALE_FIELDS))
    for family, keys in sorted(_families(scan.keys).items()):
        if deadline is not None and deadline():
            run.complete = False
            break
        texts: list[str] = []
        for key in keys:
            if len(texts) >= cap:
                break
            try:
                decision: DecisionArtifact = load_decision(store, key.key)
            except CorpusError as exc:
                run.unreadable.append(str(exc))
                continue
            run.decisions_loaded += 1
            run.loaded_by_family[family] = run.loaded_by_family.get(family, 0) + 1
            texts.extend(rationales_of(family, decision.agent_output))
        texts = texts[:cap]
        if len(texts) < min_rationales:
            run.thin[family] = len(texts)
            continue
        run.reports[family] = cluster_rationales(texts, threshold=threshold,
                                                 concentration_threshold=concentration_threshold)
    run.scan = scan.summary()
    return run
