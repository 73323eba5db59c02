"""probe_market_store: whether a market store's location is usable, answered without ArcticDB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alpha_engine.store import MarketStoreError, probe_market_store


def test_a_store_that_does_not_exist_yet_is_fine(tmp_path: Path) -> None:
    probe_market_store(f"lmdb://{tmp_path / 'arcticdb'}")
    assert not (tmp_path / "arcticdb").exists()  # nothing created


def test_an_empty_directory_and_a_remote_store_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    probe_market_store(f"lmdb://{tmp_path / 'empty'}")
    probe_market_store("s3s://s3.amazonaws.com:bucket?aws_auth=true")  # needs a connection: not probed


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_text("x"), "is not a directory"),
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")), "holds files but no ArcticDB store"),
])
def test_a_location_that_cannot_be_a_store_is_named(tmp_path: Path, make: object, message: str) -> None:
    target = tmp_path / "arcticdb"
    make(target)  # type: ignore[operator]
    with pytest.raises(MarketStoreError, match=message):
        probe_market_store(f"lmdb://{target}")


def test_a_uri_that_is_not_one_is_refused() -> None:
    with pytest.raises(MarketStoreError, match="not an ArcticDB URI"):
        probe_market_store("/plain/path")


def test_a_real_store_passes_and_the_probe_imports_no_arcticdb(tmp_path: Path) -> None:
    from alpha_engine.store import MarketStore

    uri = f"lmdb://{tmp_path / 'arcticdb'}"
    store = MarketStore(uri)
    with store.writer():
        store.ensure_libraries()
    code = ("import sys; from alpha_engine.store import probe_market_store; "
            f"probe_market_store({uri!r}); print('arcticdb' in sys.modules, 'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
