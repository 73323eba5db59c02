"""The public surface of alpha_engine.sfn is exactly its __all__."""

from __future__ import annotations

import alpha_engine.sfn as sfn


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(sfn) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(sfn, name)).__name__ == "module"}
    assert sorted(public - modules) == sorted(sfn.__all__)


def test_public_classes_report_the_package_as_their_module() -> None:
    assert sfn.Engine.__module__ == "alpha_engine.sfn"
    assert sfn.StatesError.__module__ == "alpha_engine.sfn"


def test_store_maps_every_foreign_exception_it_catches() -> None:
    import sqlite3

    from alpha_engine.sfn import _store

    assert sqlite3.Error in _store._SQLITE_ERRORS
