"""The artifact store: every pipeline stage reads and writes its outputs through it.

Artifacts live under POSIX keys (``health/data-phase1.json``) in a local directory, on S3
(``s3://bucket/prefix``, needs ``s3fs``) or in fsspec's ``memory://`` file system (tests).
Writes are atomic; JSON is written canonically and checked against the contract (JSON Schema)
registered for its key, on write and on read.
"""

from ._artifacts import ArtifactStore
from ._contracts import CONTRACTS, contract_for, validate_contract
from ._errors import (
    ArtifactNotFoundError,
    ContractError,
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreError,
)

__all__ = [
    "CONTRACTS",
    "ArtifactNotFoundError",
    "ArtifactStore",
    "ContractError",
    "InvalidKeyError",
    "ReadOnlyStoreError",
    "StoreError",
    "contract_for",
    "validate_contract",
]

# Tracebacks and docs show alpha_engine.store.ArtifactStore, not the private module.
for _public in (ArtifactNotFoundError, ArtifactStore, ContractError, InvalidKeyError, ReadOnlyStoreError,
                StoreError, contract_for, validate_contract):
    _public.__module__ = __name__
del _public
