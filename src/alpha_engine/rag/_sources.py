"""Where documents come from: one small interface, two sources today.

A :class:`Source` yields :class:`Document` s in a stable order. A document carries its source id
(``documents:<relative path>``, ``archive:<artifact key>``), the sha256 of its raw bytes and a
loader for its text, so an unchanged document is recognised without extracting it again. The
EDGAR filings source (``edgar:<cik>:<accession>``) is in :mod:`._edgar`.

* :class:`FolderSource`: every supported file (:data:`~alpha_engine.rag.SUFFIXES`) under a local
  folder, recursively; hidden files and folders and other suffixes are left out.
* :class:`ArchiveSource`: the system's own archive, the artifact store keys under a configured list
  of prefixes (theses, weekly reports); a prefix with no keys yields nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ._errors import SourceError
from ._extract import SUFFIXES, extract_text

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore

__all__ = ["ArchiveSource", "Document", "FolderSource", "Source"]


@dataclass(frozen=True)
class Document:
    """One document of a source: its id, the sha256 of its raw bytes, and how to get its text."""

    source_id: str
    content_hash: str
    load: Callable[[], str] = field(compare=False, repr=False)


class Source(Protocol):
    """A source of documents (the contract every source implements)."""

    @property
    def name(self) -> str:
        """Short name, the prefix of its source ids (``documents``, ``archive``)."""
        ...

    def check(self) -> None:
        """Raise :class:`SourceError` if the source cannot be read (read-only, fast)."""
        ...

    def documents(self) -> Iterator[Document]:
        """Every document, ordered by source id."""
        ...


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _document(source_id: str, name: str, data: bytes) -> Document:
    return Document(source_id, _sha256(data), lambda: extract_text(name, data))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read document {path}: {exc}") from exc


def _load(path: Path, relative: str, digest: str) -> str:
    data = _read(path)
    if _sha256(data) != digest:
        raise SourceError(f"document {path} changed while it was being ingested; run again")
    return extract_text(relative, data)


@dataclass(frozen=True)
class FolderSource:
    """The supported files under ``root``. ``required=False``: an absent folder is an empty source
    (the default folder of a fresh workspace); ``required=True``: it is an error."""

    root: Path
    required: bool = False
    name: str = "documents"

    def check(self) -> None:
        if not self.root.exists():
            if self.required:
                raise SourceError(f"documents folder {self.root} does not exist")
            return
        if not self.root.is_dir():
            raise SourceError(f"documents folder {self.root} is not a directory")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise SourceError(f"documents folder {self.root} is not readable")

    def paths(self) -> list[Path]:
        """The files this source reads, sorted by relative path."""
        self.check()
        if not self.root.is_dir():
            return []
        found = []
        for directory, folders, files in os.walk(self.root):
            folders[:] = [f for f in folders if not f.startswith(".")]
            for file in files:
                path = Path(directory) / file
                if not file.startswith(".") and path.suffix.lower() in SUFFIXES:
                    found.append(path)
        return sorted(found, key=lambda p: p.relative_to(self.root).as_posix())

    def documents(self) -> Iterator[Document]:
        # The bytes are hashed now and read again only if the document needs extracting, so an
        # ingestion never holds the whole folder in memory.
        for path in self.paths():
            relative = path.relative_to(self.root).as_posix()
            digest = _sha256(_read(path))
            yield Document(f"{self.name}:{relative}", digest, functools.partial(_load, path, relative, digest))


@dataclass(frozen=True)
class ArchiveSource:
    """The artifact store keys under ``prefixes`` with a supported suffix."""

    store: ArtifactStore
    prefixes: Sequence[str]
    name: str = "archive"

    def keys(self) -> list[str]:
        from alpha_engine.store import StoreError

        keys: set[str] = set()
        for prefix in self.prefixes:
            try:
                listed = self.store.list(prefix)
            except StoreError as exc:
                raise SourceError(f"cannot list archive prefix {prefix!r}: {exc}") from exc
            keys.update(k for k in listed if "." + k.rsplit(".", 1)[-1].lower() in SUFFIXES)
        return sorted(keys)

    def check(self) -> None:
        self.keys()

    def documents(self) -> Iterator[Document]:
        from alpha_engine.store import StoreError

        for key in self.keys():
            try:
                data = self.store.read_bytes(key)
            except StoreError as exc:
                raise SourceError(f"cannot read archive document {key}: {exc}") from exc
            yield _document(f"{self.name}:{key}", key, data)
