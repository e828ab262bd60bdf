"""Opaque ``Crime ID`` values for published-style outcome files: keyed HMAC-SHA256.

A plain hash of force and crime reference can be reversed by trying every reference in the force's
numbering scheme (``MPS/24/0100001`` ...), so the published ID is an HMAC under a publication key that
is never stored in the repository. Where the key comes from, first match wins:

1. an explicit ``key`` argument (bytes);
2. the environment variable ``LINKAGE_PUBLICATION_KEY`` (its UTF-8 bytes);
3. for a *synthetic* world only, a key derived from the world seed and a fixed label. Synthetic crime
   references are not personal data, so a derivable key is acceptable there, and it keeps synthetic
   outputs byte-identical for a given seed;
4. otherwise :class:`~linkage.errors.LinkageError`: a real restricted extract needs a key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from linkage.errors import LinkageError

logger = logging.getLogger(__name__)

__all__ = [
    "MIN_KEY_BYTES",
    "PUBLICATION_KEY_ENV",
    "crime_ids",
    "publication_key",
    "synthetic_publication_key",
]

PUBLICATION_KEY_ENV = "LINKAGE_PUBLICATION_KEY"
MIN_KEY_BYTES = 16
_SYNTHETIC_LABEL = b"linkage synthetic-world publication key v1|seed="


def synthetic_publication_key(seed: int) -> bytes:
    """The publication key of the synthetic world generated with ``seed`` (not secret, by design)."""
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise LinkageError(f"synthetic_seed must be a non-negative integer, got {seed!r}")
    return hashlib.sha256(_SYNTHETIC_LABEL + str(int(seed)).encode()).digest()


def publication_key(key: bytes | None = None, *, synthetic_seed: int | None = None) -> bytes:
    """The key for :func:`crime_ids`: ``key``, else ``$LINKAGE_PUBLICATION_KEY``, else (synthetic worlds
    only) one derived from ``synthetic_seed``; raises LinkageError when none applies or a key is short."""
    source = "key"
    if key is None:
        env = os.environ.get(PUBLICATION_KEY_ENV)
        if env:
            key, source = env.encode("utf-8"), PUBLICATION_KEY_ENV
        elif synthetic_seed is not None:
            return synthetic_publication_key(synthetic_seed)
        else:
            raise LinkageError(
                "no publication key: pass key=<bytes> or set the environment variable "
                f"{PUBLICATION_KEY_ENV} (at least {MIN_KEY_BYTES} bytes); only a synthetic world "
                "(synthetic_seed=<world seed>) may use a derived key"
            )
    if not isinstance(key, bytes | bytearray):
        raise LinkageError(f"{source} must be bytes, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise LinkageError(f"{source} must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    return bytes(key)


def crime_ids(force: Iterable[object], crime_ref: Iterable[object], key: bytes) -> np.ndarray:
    """64-hex HMAC-SHA256 under ``key`` of ``f"{force}|{crime_ref}"``, computed once per distinct pair."""
    text = pd.Series([f"{f}|{c}" for f, c in zip(force, crime_ref, strict=True)], dtype="object")
    codes, uniques = pd.factorize(text, sort=False)
    digests = np.array(
        [hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest() for u in uniques], dtype=object
    )
    return digests[codes] if len(codes) else np.array([], dtype=object)
