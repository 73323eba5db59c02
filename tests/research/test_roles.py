"""Each research role's rules on small hand-built inputs."""

from __future__ import annotations

import pytest

from alpha_engine.research import (
    NO_EVIDENCE,
    CioOutput,
    HeldPosition,
    PriorThesis,
    RegimePrior,
    TeamView,
    aggregate_score,
    deterministic_backend,
    factor_score,
    handle_population,
    load_sector_map,
    read_regime_prior,
)

RULES = deterministic_backend()
NEUTRAL = RegimePrior(label="neutral", probabilities={"bull": 0.25, "neutral": 0.5, "bear": 0.25}, source="test")


def _features(mom: float, vol: float = 0.0) -> dict[str, float | None]:
    return {"momentum_20d_zscore": mom, "return_60d_zscore": mom, "idio_vol_60d_zscore": vol,
            "dist_from_52w_high_zscore": 0.0, "realized_vol_63d_zscore": vol, "price_vs_ma200": mom / 10,
            "momentum_20d": mom / 10, "momentum_5d": 0.0, "realized_vol_20d": 0.2}


def _view(features: dict[str, dict[str, float | None]], held: frozenset[str] = frozenset()) -> TeamView:
    return TeamView(team="technology", regime="neutral", tickers=tuple(sorted(features)), features=features,
                    sector_of=dict.fromkeys(features, "Information Technology"), held=held)


def test_the_sector_map_covers_the_sample_and_groups_eleven_sectors_into_six_teams() -> None:
    sectors = load_sector_map()
    assert len(sectors.sectors) == 11 and len(sectors.teams) == 6
    assert sectors.sector_of("XOM") == "Energy" and sectors.team_of("Energy") == "defensives"
    assert sectors.sector_of("NEW", "XLU") == "Utilities" and sectors.sector_of("NEW") is None


def test_macro_a_bull_substrate_and_broad_trend_make_a_bull_regime_and_ratings_follow_modifiers() -> None:
    bull = RegimePrior(label="bull", probabilities={"bull": 0.8, "neutral": 0.15, "bear": 0.05}, source="t")
    features = {"A": _features(2.0), "B": _features(1.0), "C": _features(-1.0)}
    out = RULES.macro.assess(bull, features, {"A": "Energy", "B": "Utilities", "C": "Utilities"},
                             load_sector_map().sectors)
    assert out.market_regime == "bull"
    assert out.sector_ratings["Energy"].rating == "overweight" and out.sector_modifiers["Energy"] >= 1.08
    assert all(0.7 <= m <= 1.3 for m in out.sector_modifiers.values())


def test_macro_without_a_substrate_the_neutral_prior_needs_overwhelming_breadth() -> None:
    features = {"A": _features(1.0), "B": _features(1.0), "C": _features(-1.0)}  # breadth 2/3
    out = RULES.macro.assess(NEUTRAL, features, {}, load_sector_map().sectors)
    assert out.market_regime == "neutral"


def test_quant_ranks_by_factor_score_keeps_ten_and_puts_unscored_last() -> None:
    features = {f"T{i:02d}": _features(i / 5) for i in range(12)}
    features["NONE"] = dict.fromkeys(_features(0.0), None)
    out = RULES.quant.rank(_view(features))
    assert [p.ticker for p in out.top] == [f"T{i:02d}" for i in range(11, 1, -1)]
    assert factor_score({"momentum": None, "stability": None, "value": None, "low_vol": None}, "bull") is None


def test_qual_says_no_evidence_retrieved_and_never_invents_a_score() -> None:
    features = {f"T{i}": _features(i / 5) for i in range(7)}
    view = _view(features)
    out = RULES.qual.review(view, RULES.quant.rank(view))
    assert len(out.assessments) == 5 and out.note == NO_EVIDENCE
    assert all(a.qual_score is None and a.evidence == [] and "no evidence retrieved" in a.note
               for a in out.assessments)


@pytest.mark.parametrize(("third_mom", "expected"), [(2.0, 3), (-2.0, 2)])
def test_peer_review_picks_two_and_a_third_only_above_sixty(third_mom: float, expected: int) -> None:
    features = {"A": _features(3.0), "B": _features(3.0), "C": _features(third_mom)}
    view = _view(features)
    quant = RULES.quant.rank(view)
    assert len(RULES.peer_review.finalize(view, quant, RULES.qual.review(view, quant)).picks) == expected


def test_thesis_maintenance_fires_only_on_a_material_trigger() -> None:
    view = _view({"A": _features(1.0)})
    prior = PriorThesis(ticker="A", run_date="2022-12-24", score=60.0, sector_rating="market_weight",
                        thesis_summary="x", conviction="stable")
    assert RULES.thesis.update(view, "A", prior, 65.0, "market_weight") is None
    update = RULES.thesis.update(view, "A", prior, 75.0, "market_weight")
    assert update is not None and update.conviction == "rising" and "score 60.0 -> 75.0" in update.triggers[0]
    assert RULES.thesis.update(view, "A", prior, 60.0, "overweight") is not None


def test_aggregator_blends_present_scores_and_shifts_by_the_sector_modifier() -> None:
    s = aggregate_score("A", "t", "Energy", 60.0, None, 1.3, {})
    assert s.final_score == 70.0 and s.rating == "BUY" and s.macro_shift == 10.0
    assert aggregate_score("A", "t", "Energy", 60.0, 40.0, 1.0, {}).final_score == 50.0
    unscored = aggregate_score("A", "t", "Energy", None, None, 1.0, {})
    assert unscored.final_score is None and unscored.rating == "HOLD"


def test_cio_advances_buys_within_capacity_rejects_the_rest_and_force_fills_to_two() -> None:
    macro = RULES.macro.assess(NEUTRAL, {}, {}, load_sector_map().sectors)
    picks = [aggregate_score(t, "t", "Energy", q, None, 1.0, {}) for t, q in
             [("A", 80.0), ("B", 62.0), ("C", 50.0), ("H", 90.0)]]
    out = RULES.cio.decide(picks, [HeldPosition(ticker="H", entered="2022-12-24", entry_score=70.0)], macro)
    by = {d.ticker: d.decision for d in out.decisions}
    assert by == {"H": "REJECT", "A": "ADVANCE", "B": "ADVANCE_FORCED", "C": "REJECT"}


def test_population_exits_weak_holdings_and_adds_cio_entries() -> None:
    scored = {"A": aggregate_score("A", "t", "Energy", 80.0, None, 1.0, {}),
              "W": aggregate_score("W", "t", "Energy", 30.0, None, 1.0, {})}
    cio = CioOutput(rationale="", decisions=[])
    cio = cio.model_copy(update={"decisions": [
        *RULES.cio.decide([scored["A"]], [], RULES.macro.assess(NEUTRAL, {}, {}, load_sector_map().sectors)).decisions]})
    out = handle_population([HeldPosition(ticker="W", entered="2022-12-24", entry_score=70.0)], cio, scored,
                            "2022-12-31")
    assert out.entries == ["A"] and [e.ticker for e in out.exits] == ["W"]
    assert [h.ticker for h in out.population] == ["A"]


def test_the_regime_reader_uses_label_and_probabilities_and_falls_back_to_neutral() -> None:
    docs = {"regime/2022-12-31/substrate.json": {"label": "BEAR", "probabilities": {"bull": 1, "neutral": 1,
                                                                                     "bear": 2}}}
    prior, warning = read_regime_prior(docs.get, "2022-12-31")
    assert prior.label == "bear" and prior.probabilities["bear"] == 0.5 and warning is None
    prior, _ = read_regime_prior({"regime/latest.json": {"label": "bull"}}.get, "2022-12-31")
    assert prior.probabilities["bull"] == 0.6 and prior.source == "regime/latest.json"
    prior, warning = read_regime_prior({"regime/latest.json": {"date": "2023-02-01", "label": "bull"}}.get,
                                       "2022-12-31")
    assert prior.label == "neutral" and "after run_date" in (warning or "")
    prior, warning = read_regime_prior({}.get, "2022-12-31")
    assert prior.source == "no regime substrate: neutral prior" and warning is None
