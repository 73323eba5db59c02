-- research.db schema 1: theses, population and its history, scanner and CIO evaluations,
-- macro snapshots, score performance. Per-run tables are keyed by run_date, so a rerun replaces its rows.
CREATE TABLE thesis_history (
    run_date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    team TEXT NOT NULL,
    score REAL,
    rating TEXT NOT NULL,
    sector_rating TEXT NOT NULL,
    conviction TEXT NOT NULL CHECK (conviction IN ('rising', 'stable', 'declining')),
    thesis_summary TEXT NOT NULL,
    triggers TEXT NOT NULL,
    PRIMARY KEY (run_date, ticker)
);
CREATE TABLE investment_thesis (
    ticker TEXT PRIMARY KEY,
    run_date TEXT NOT NULL,
    team TEXT NOT NULL,
    score REAL,
    rating TEXT NOT NULL,
    sector_rating TEXT NOT NULL,
    conviction TEXT NOT NULL,
    thesis_summary TEXT NOT NULL
);
CREATE TABLE population_history (
    run_date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('ENTER', 'HOLD', 'EXIT')),
    entered TEXT NOT NULL,
    entry_score REAL,
    score REAL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_date, ticker)
);
CREATE TABLE population (
    ticker TEXT PRIMARY KEY,
    entered TEXT NOT NULL,
    entry_score REAL,
    as_of_run_date TEXT NOT NULL
);
CREATE TABLE scanner_evaluations (
    run_date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    team TEXT,
    scanner_passed INTEGER,
    held INTEGER NOT NULL,
    in_input_set INTEGER NOT NULL,
    quant_score REAL,
    PRIMARY KEY (run_date, ticker)
);
CREATE TABLE cio_evaluations (
    run_date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    team TEXT NOT NULL,
    decision TEXT NOT NULL,
    conviction REAL NOT NULL,
    rank INTEGER NOT NULL,
    rationale TEXT NOT NULL,
    rule_tags TEXT NOT NULL,
    PRIMARY KEY (run_date, ticker)
);
CREATE TABLE macro_snapshots (
    run_date TEXT PRIMARY KEY,
    market_regime TEXT NOT NULL,
    regime_source TEXT NOT NULL,
    sector_modifiers TEXT NOT NULL,
    rationale TEXT NOT NULL
);
CREATE TABLE score_performance (
    run_date TEXT NOT NULL,
    ticker TEXT NOT NULL,
    score REAL,
    rating TEXT NOT NULL,
    price_at_score REAL,
    return_10d REAL,
    return_30d REAL,
    beat_spy_10d INTEGER,
    beat_spy_30d INTEGER,
    PRIMARY KEY (run_date, ticker)
);
