"""The model registry: immutable, content-addressed model bundles and the champion pointer.

Layout under ``prefix`` (default ``predictor/registry``) in an :class:`ArtifactStore`::

    {prefix}/{version_id}/{file}            bundle files, written once, never overwritten
    {prefix}/{version_id}/manifest.json     written last: its presence marks a complete bundle
    {prefix}/champion.json                  {"version_id", "provisional", "history": [...]}

``version_id = f"{label}-{run_date}-{sha8}"``, where ``sha8`` is the first 8 hex digits of a
sha256 over the sorted ``(name, sha256(data))`` pairs and the canonical JSON of the caller's
manifest, so equal content always gets the same id and one changed byte gets another.

A bundle's ``manifest.json`` keeps the stage it was registered with (``challenger``); promotion
only moves the champion pointer, so the bundle stays byte-for-byte immutable. :meth:`versions`
reports the effective stage: ``champion`` for the current champion, ``archived`` for earlier
champions, the registered stage otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from alpha_engine.store import ArtifactNotFoundError, ArtifactStore, ContractError, ReadOnlyStoreError

from ._artifacts import CHAMPION_POINTER, PROMOTION_DECISION, REGISTRY_MANIFEST
from ._errors import RegistryCorruptionError, RegistryError, VersionNotFoundError

__all__ = ["BundleFile", "ModelRegistry"]

MANIFEST = "manifest.json"
CHAMPION = "champion.json"
DECISIONS = "decisions"
REGISTERED_STAGE = "challenger"
_RESERVED_KEYS = frozenset({"version_id", "files", "stage"})
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_RUN_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class BundleFile:
    """One file of a model bundle: a plain file name (no '/') and its bytes."""

    name: str
    data: bytes


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_sha256(config: Mapping[str, Any]) -> str:
    """sha256 of a training config's canonical JSON: the identity of a trial's configuration."""
    return _sha256(_canonical(dict(config)).encode())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ModelRegistry:
    """Content-addressed model bundles in ``store`` under ``prefix``, plus the champion pointer.

    Parameters
    ----------
    store : ArtifactStore
        Where bundles live. A read-only store can be read, never written.
    prefix : str, default "predictor/registry"
        Key prefix of the registry (the store contract for manifests assumes the default).
    """

    def __init__(self, store: ArtifactStore, prefix: str = CHAMPION_POINTER.prefix.rstrip("/")) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")

    def __repr__(self) -> str:
        return f"ModelRegistry({self.store!r}, prefix={self.prefix!r})"

    # -- keys ------------------------------------------------------------------------------

    def _key(self, version_id: str, name: str) -> str:
        return f"{self.prefix}/{version_id}/{name}"

    @property
    def _champion_key(self) -> str:
        return f"{self.prefix}/{CHAMPION}"

    def _check_writable(self, op: str) -> None:
        if self.store.read_only:
            raise ReadOnlyStoreError(f"model registry {self.prefix!r} in artifact store {self.store.uri!r} "
                                     f"is read-only: refused to {op}", uri=self.store.uri)

    # -- registration ----------------------------------------------------------------------

    def register(self, files: Sequence[BundleFile], manifest: Mapping[str, Any], *, label: str,
                 run_date: str) -> str:
        """Store a bundle and return its version id; registering identical content again is a no-op.

        Bundle files are written first and ``manifest.json`` last. The stored manifest is the
        caller's plus ``version_id``, ``run_date``, ``files`` ({name: sha256}) and ``stage``
        ("challenger"); the caller's manifest must not set ``version_id``, ``files`` or ``stage``,
        and a ``run_date`` it sets must agree with the argument. (``label`` is left to the caller,
        who may use that key for something else: it is the version id's prefix.)
        """
        self._check_writable(f"register {label!r}")
        hashes = _validate_bundle(files, manifest, label=label, run_date=run_date)
        user_manifest = dict(manifest)
        digest = _sha256(_canonical({"files": sorted(hashes.items()), "manifest": user_manifest}).encode())
        version_id = f"{label}-{run_date}-{digest[:8]}"
        stored = {**user_manifest, "version_id": version_id, "run_date": run_date, "files": hashes,
                  "stage": REGISTERED_STAGE}

        manifest_key = self._key(version_id, MANIFEST)
        if self.store.exists(manifest_key):
            existing = self.manifest(version_id)
            if _canonical(existing) != _canonical(stored):
                # Only reachable if the stored manifest was edited by hand: the id hashes the content.
                raise RegistryCorruptionError(
                    f"model registry: version {version_id!r} exists with a different manifest than the "
                    f"content that hashes to it ({manifest_key!r} was modified)")
            return version_id

        for bundle_file in files:
            key = self._key(version_id, bundle_file.name)
            if self.store.exists(key):
                # A previous, interrupted registration of this same content: never overwrite.
                if _sha256(self.store.read_bytes(key)) != hashes[bundle_file.name]:
                    raise RegistryCorruptionError(
                        f"model registry: {key!r} already exists with bytes that do not match the bundle "
                        f"being registered as {version_id!r}; refusing to overwrite it")
                continue
            self.store.write_bytes(key, bundle_file.data)
        REGISTRY_MANIFEST.validate(stored, key=manifest_key, uri=self.store.uri)
        self.store.write_json(manifest_key, stored)
        return version_id

    # -- reading ---------------------------------------------------------------------------

    def manifest(self, version_id: str) -> dict[str, Any]:
        """The stored manifest of ``version_id``; :class:`VersionNotFoundError` if there is none."""
        _check_version_id(version_id)
        key = self._key(version_id, MANIFEST)
        try:
            value = self.store.read_json(key)
        except ContractError as exc:
            raise RegistryCorruptionError(f"model registry: {key!r} is malformed: {exc}") from exc
        except ArtifactNotFoundError as exc:
            raise VersionNotFoundError(
                f"model registry {self.prefix!r} in artifact store {self.store.uri!r} has no version "
                f"{version_id!r} (no {key!r})") from exc
        if not isinstance(value, dict) or value.get("version_id") != version_id:
            raise RegistryCorruptionError(f"model registry: {key!r} does not describe version {version_id!r}")
        REGISTRY_MANIFEST.validate(value, key=key, uri=self.store.uri)
        return value

    def versions(self) -> list[dict[str, Any]]:
        """Every complete bundle as ``{version_id, label, run_date, stage}``, sorted by run_date, version_id.

        ``stage`` is the effective stage (see the module docstring).
        """
        depth = self.prefix.count("/") + 3  # {prefix}/{version_id}/manifest.json
        ids = [key.split("/")[-2] for key in self.store.list(self.prefix)
               if key.count("/") + 1 == depth and key.endswith("/" + MANIFEST)]
        pointer = self._read_champion()
        champion = pointer["version_id"] if pointer else None
        earlier = {entry["version_id"] for entry in pointer["history"]} if pointer else set()
        rows = []
        for version_id in ids:
            stored = self.manifest(version_id)
            stage = stored["stage"]
            if version_id == champion:
                stage = "champion"
            elif version_id in earlier:
                stage = "archived"
            run_date = str(stored["run_date"])
            label = version_id[:-len(f"-{run_date}-00000000")]
            rows.append({"version_id": version_id, "label": label, "run_date": run_date, "stage": stage})
        return sorted(rows, key=lambda row: (row["run_date"], row["version_id"]))

    def listing(self) -> dict[str, Any]:
        """What ``alpha-engine predictor list`` shows: the champion, whether it serves
        provisionally, and every version (oldest first) with its CPCV and out-of-sample ICs."""
        champion = self.champion()
        rows = []
        for entry in self.versions():
            validation = self.manifest(entry["version_id"]).get("validation", {})
            rows.append({"version_id": entry["version_id"], "run_date": entry["run_date"],
                         "stage": entry["stage"], "champion": entry["version_id"] == champion,
                         "cpcv_mean_ic": validation.get("cpcv", {}).get("mean_ic"),
                         "meta_oos_ic": validation.get("meta_oos_ic", {}).get("mean")})
        return {"champion": champion, "champion_provisional": self.champion_is_provisional(), "versions": rows}

    def trials(self, *, excluding: tuple[str, Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The record of trials for the deflated Sharpe ratio: every registered bundle (each weekly
        retrain, config or sweep that was registered), oldest first, as ``{version_id, run_date,
        config_sha256, ic_mean, sharpe, n_dates}``. ``sharpe`` is the out-of-sample meta-model IC IR
        (per date) from the manifest's ``validation.meta_oos_ic``; None when it was not recorded.

        ``excluding=(run_date, config)`` leaves out the bundles of that run date and config: a
        rerun of the same week's training is the same trial, not another one (and must register
        the same bundle)."""
        skip = None if excluding is None else (excluding[0], config_sha256(excluding[1]))
        rows = []
        for entry in self.versions():
            stored = self.manifest(entry["version_id"])
            summary = stored.get("validation", {}).get("meta_oos_ic", {})
            config = stored.get("config")
            digest = None if config is None else config_sha256(config)
            if skip is not None and (entry["run_date"], digest) == skip:
                continue
            rows.append({"version_id": entry["version_id"], "run_date": entry["run_date"],
                         "config_sha256": digest,
                         "ic_mean": summary.get("mean"), "sharpe": summary.get("ir"),
                         "n_dates": summary.get("n_dates")})
        return rows

    # -- promotion decisions -----------------------------------------------------------------

    def _decision_key(self, run_date: str, version_id: str) -> str:
        return f"{self.prefix}/{DECISIONS}/{run_date}/{version_id}.json"

    def record_decision(self, decision: Mapping[str, Any]) -> str:
        """Store a promotion decision (see :func:`~._promotion.decide`) under
        ``{prefix}/decisions/{run_date}/{challenger}.json`` and return its key; a rerun that decides
        for the same challenger on the same date replaces it."""
        self._check_writable(f"record the promotion decision for {decision.get('challenger')!r}")
        run_date, version_id = str(decision["run_date"]), str(decision["challenger"])
        _check_version_id(version_id)
        if not _RUN_DATE.match(run_date):
            raise ValueError(f"model registry: decision run_date {run_date!r} is not YYYY-MM-DD")
        key = self._decision_key(run_date, version_id)
        PROMOTION_DECISION.validate(dict(decision), key=key, uri=self.store.uri)
        self.store.write_json(key, dict(decision))
        return key

    def decisions(self) -> list[dict[str, Any]]:
        """Every recorded promotion decision, oldest run first."""
        prefix = f"{self.prefix}/{DECISIONS}/"
        rows = []
        for key in sorted(self.store.list(prefix)):
            try:
                rows.append(self.store.read_json(key))
            except ContractError as exc:
                raise RegistryCorruptionError(f"model registry: decision {key!r} is malformed: {exc}") from exc
        return sorted(rows, key=lambda d: (str(d.get("run_date")), str(d.get("challenger"))))

    def read_file(self, version_id: str, name: str) -> bytes:
        """The bytes of bundle file ``name``, verified against the manifest's sha256."""
        files = self.manifest(version_id)["files"]
        if name not in files:
            raise VersionNotFoundError(
                f"model registry: version {version_id!r} has no file {name!r} (files: {sorted(files)})")
        key = self._key(version_id, name)
        try:
            data = self.store.read_bytes(key)
        except ArtifactNotFoundError as exc:
            raise RegistryCorruptionError(
                f"model registry: {key!r} is listed in the manifest of {version_id!r} but missing") from exc
        actual = _sha256(data)
        if actual != files[name]:
            raise RegistryCorruptionError(
                f"model registry: {key!r} is corrupt: sha256 {actual} does not match the manifest's "
                f"{files[name]}")
        return data

    # -- champion --------------------------------------------------------------------------

    def champion(self) -> str | None:
        """The current champion's version id, or ``None`` if nothing was ever promoted."""
        pointer = self._read_champion()
        return None if pointer is None else str(pointer["version_id"])

    def champion_is_provisional(self) -> bool:
        """Whether the current champion serves provisionally: promoted without passing the gate."""
        pointer = self._read_champion()
        return bool(pointer and pointer.get("provisional", False))

    def promote(self, version_id: str, *, reason: str, provisional: bool = False) -> None:
        """Make ``version_id`` the champion and record ``{action, version_id, previous, reason,
        provisional}``.

        ``provisional`` marks a champion that serves without having passed the promotion gate
        (see the PredictorTraining stage); every prediction it writes says so. Promoting the
        current champion with the same status changes nothing (safe to retry).
        """
        self._check_writable(f"promote {version_id!r}")
        _check_reason(reason)
        self.manifest(version_id)  # must exist
        pointer = self._read_champion() or {"version_id": None, "history": []}
        previous = pointer["version_id"]
        if previous == version_id and bool(pointer.get("provisional", False)) == provisional:
            return
        entry = {"action": "promote", "version_id": version_id, "previous": previous, "reason": reason,
                 "provisional": provisional}
        self._write_champion(version_id, [*pointer["history"], entry], provisional=provisional)

    def demote(self, version_id: str, *, reason: str) -> None:
        """Mark the champion ``version_id`` provisional (it failed re-validation; it keeps serving)
        and record ``{action: demote, ...}``. A champion already provisional changes nothing."""
        self._set_status(version_id, provisional=True, action="demote", reason=reason)

    def restore(self, version_id: str, *, reason: str) -> None:
        """Return the provisional champion ``version_id`` to full status (it passes the gate again)
        and record ``{action: restore, ...}``. A full champion changes nothing."""
        self._set_status(version_id, provisional=False, action="restore", reason=reason)

    def _set_status(self, version_id: str, *, provisional: bool, action: str, reason: str) -> None:
        self._check_writable(f"{action} {version_id!r}")
        _check_reason(reason)
        pointer = self._read_champion()
        if pointer is None or pointer["version_id"] != version_id:
            raise RegistryError(f"model registry {self.prefix!r}: cannot {action} {version_id!r}: it is not the "
                                f"champion ({pointer['version_id'] if pointer else None!r})")
        if bool(pointer.get("provisional", False)) == provisional:
            return
        entry = {"action": action, "version_id": version_id, "previous": version_id, "reason": reason,
                 "provisional": provisional}
        self._write_champion(version_id, [*pointer["history"], entry], provisional=provisional)

    def rollback(self, *, reason: str) -> str:
        """Return to the champion before the current one and return its version id.

        Promotions stack and rollbacks pop, so rolling back twice after promoting A, B, C gives A.
        """
        self._check_writable("roll back the champion")
        _check_reason(reason)
        pointer = self._read_champion()
        lineage = _lineage(pointer["history"]) if pointer else []
        if len(lineage) < 2:
            raise RegistryError(f"model registry {self.prefix!r}: no previous champion to roll back to "
                                f"(champion: {pointer['version_id'] if pointer else None!r})")
        assert pointer is not None
        current, target = lineage[-1], lineage[-2]
        self.manifest(target)  # the bundle must still be there
        # The target serves with the status it last had as champion (promoted, demoted or restored).
        provisional = next((bool(e.get("provisional", False)) for e in reversed(pointer["history"])
                            if e.get("action") != "rollback" and e["version_id"] == target), False)
        entry = {"action": "rollback", "version_id": target, "previous": current, "reason": reason,
                 "provisional": provisional}
        self._write_champion(target, [*pointer["history"], entry], provisional=provisional)
        return target

    def _read_champion(self) -> dict[str, Any] | None:
        key = self._champion_key
        try:
            value = self.store.read_json(key)
        except ArtifactNotFoundError:
            return None
        except ContractError as exc:
            raise RegistryCorruptionError(f"model registry: champion pointer {key!r} is malformed: {exc}") from exc
        if (not isinstance(value, dict) or not isinstance(value.get("version_id"), str)
                or not isinstance(value.get("history"), list)
                or not all(isinstance(entry, dict) and isinstance(entry.get("version_id"), str)
                           for entry in value["history"])):
            raise RegistryCorruptionError(f"model registry: champion pointer {key!r} is malformed")
        return value

    def _write_champion(self, version_id: str, history: list[dict[str, Any]], *, provisional: bool) -> None:
        # One write_json: the store's write is atomic, so readers see the old pointer or the new one.
        pointer = {"version_id": version_id, "provisional": provisional, "history": history}
        CHAMPION_POINTER.validate(pointer, key=self._champion_key, uri=self.store.uri)
        self.store.write_json(self._champion_key, pointer)


def _lineage(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """The champion stack implied by the history: promotions push, rollbacks pop; re-promoting the
    champion (a change of status only) pushes nothing."""
    stack: list[str] = []
    for entry in history:
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        elif not stack or stack[-1] != entry["version_id"]:
            stack.append(str(entry["version_id"]))
    return stack


def _check_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("model registry: a non-empty reason is required")


def _check_version_id(version_id: str) -> None:
    if not isinstance(version_id, str) or "/" in version_id or not _LABEL.match(version_id):
        raise VersionNotFoundError(f"model registry: {version_id!r} is not a valid version id")


def _validate_bundle(files: Sequence[BundleFile], manifest: Mapping[str, Any], *, label: str,
                     run_date: str) -> dict[str, str]:
    """Check the arguments of :meth:`ModelRegistry.register`; return ``{name: sha256}``."""
    if not isinstance(label, str) or not _LABEL.match(label):
        raise ValueError(f"model registry: label {label!r} must match {_LABEL.pattern}")
    if not isinstance(run_date, str) or not _RUN_DATE.match(run_date):
        raise ValueError(f"model registry: run_date {run_date!r} is not YYYY-MM-DD")
    try:
        date.fromisoformat(run_date)
    except ValueError as exc:
        raise ValueError(f"model registry: run_date {run_date!r} is not a calendar date") from exc
    if not files:
        raise ValueError(f"model registry: bundle {label!r} has no files")
    if not isinstance(manifest, Mapping):
        raise TypeError(f"model registry: manifest of {label!r} must be a mapping, not {type(manifest).__name__}")
    reserved = sorted(_RESERVED_KEYS & set(manifest))
    if reserved:
        raise ValueError(f"model registry: manifest of {label!r} sets reserved keys {reserved}")
    if "run_date" in manifest and manifest["run_date"] != run_date:
        raise ValueError(f"model registry: manifest run_date {manifest['run_date']!r} disagrees with {run_date!r}")
    try:
        _canonical(dict(manifest))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model registry: manifest of {label!r} is not JSON-serialisable: {exc}") from exc
    hashes: dict[str, str] = {}
    for bundle_file in files:
        name = bundle_file.name
        if not isinstance(name, str) or not _FILE_NAME.match(name) or name in (MANIFEST, CHAMPION):
            raise ValueError(f"model registry: bundle file name {name!r} of {label!r} must match "
                             f"{_FILE_NAME.pattern} and not be {MANIFEST!r} or {CHAMPION!r}")
        if name in hashes:
            raise ValueError(f"model registry: bundle {label!r} has file {name!r} twice")
        if not isinstance(bundle_file.data, bytes):
            raise TypeError(f"model registry: file {name!r} of {label!r} must be bytes, "
                            f"not {type(bundle_file.data).__name__}")
        hashes[name] = _sha256(bundle_file.data)
    return hashes
