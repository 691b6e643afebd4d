"""Public ids of appeals for the open dataset and Open311: stable, unguessable, reversible.

An appeal's database id is sequential, and its tracking number opens the citizen's answer
on the portal, so neither is published. The public id is the appeal id run through a keyed
permutation of 64-bit numbers, written as 13 characters of Crockford's base 32: a balanced
Feistel network of 8 rounds whose round functions are keyed tabulation hashes (two tables
of 65,536 random 32-bit words per round, drawn from keyed BLAKE2b). A Feistel network of
independent round functions is a permutation whatever the functions are, so it decodes
exactly; tabulation keeps it to a few table lookups that numpy does for a million appeals
at once (the export), while Open311 decodes one id at a time with the same tables.

The same appeal always gets the same id (exports from different nights join), ids are not
in order (nobody counts appeals by them), and a forged or mistyped id that does not decode
to a plausible appeal id is refused. The key comes from
``CIVICDESK_ANALYTICS_PSEUDONYM_KEY`` (unset: from the secret key); changing it changes
every public id, so set it once per deployment.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from core.settings import Settings, get_settings

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32: no i, l, o, u
_ALPHABET_BYTES = np.frombuffer(_ALPHABET.encode(), dtype=np.uint8)
_DECODE = {character: index for index, character in enumerate(_ALPHABET)}
_ROUNDS = 8
_TABLE = 1 << 16
#: Appeal ids at or above this are not ours: a forged id decodes to noise and is refused.
MAX_APPEAL_ID = 1 << 40
LENGTH = 13  # ceil(64 / 5)

Tables = npt.NDArray[np.uint32]  # shape (rounds, 2, 65536)
U64 = npt.NDArray[np.uint64]


@lru_cache(maxsize=4)
def _tables(secret: str) -> Tables:
    master = hashlib.blake2b(secret.encode(), digest_size=32, person=b"civicdesk-pub-id").digest()
    words = _ROUNDS * 2 * _TABLE
    stream = bytearray()
    counter = 0
    while len(stream) < words * 4:
        stream += hashlib.blake2b(counter.to_bytes(8, "big"), key=master, digest_size=64).digest()
        counter += 1
    table = np.frombuffer(bytes(stream[: words * 4]), dtype="<u4").astype(np.uint32)
    return table.reshape(_ROUNDS, 2, _TABLE)


def _round(tables: Tables, index: int, half: U64) -> U64:
    low = (half & np.uint64(0xFFFF)).astype(np.intp)
    high = (half >> np.uint64(16)).astype(np.intp)
    mixed: U64 = (tables[index, 0][low] ^ tables[index, 1][high]).astype(np.uint64)
    return mixed


def _encrypt(tables: Tables, values: U64) -> U64:
    left, right = values >> np.uint64(32), values & np.uint64(0xFFFFFFFF)
    for index in range(_ROUNDS):
        left, right = right, left ^ _round(tables, index, right)
    result: U64 = (left << np.uint64(32)) | right
    return result


def _decrypt(tables: Tables, values: U64) -> U64:
    left, right = values >> np.uint64(32), values & np.uint64(0xFFFFFFFF)
    for index in reversed(range(_ROUNDS)):
        left, right = right ^ _round(tables, index, left), left
    result: U64 = (left << np.uint64(32)) | right
    return result


class Pseudonymizer:
    """Public ids under one key (the tables are derived once per process and key)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self._tables = _tables(settings.analytics_pseudonym_key or settings.secret_key)

    def public_ids(self, appeal_ids: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Public ids of many appeals at once (the export's column)."""
        values = np.asarray(appeal_ids, dtype=np.int64)
        if values.size and (values.min() <= 0 or values.max() >= MAX_APPEAL_ID):
            raise ValueError("appeal id out of range")
        encrypted = _encrypt(self._tables, values.astype(np.uint64))
        shifts = np.arange(LENGTH - 1, -1, -1, dtype=np.uint64) * np.uint64(5)
        digits = (encrypted[:, None] >> shifts[None, :]) & np.uint64(31)
        characters = _ALPHABET_BYTES[digits.astype(np.intp)]
        return np.ascontiguousarray(characters).view(f"S{LENGTH}").ravel().astype(np.str_)

    def public_id(self, appeal_id: int) -> str:
        return str(self.public_ids([appeal_id])[0])

    def appeal_id(self, public_id: str) -> int | None:
        """The appeal id behind ``public_id``; None when it is not one of ours."""
        text = public_id.strip().lower()
        if len(text) != LENGTH or any(character not in _DECODE for character in text):
            return None
        number = 0
        for character in text:
            number = (number << 5) | _DECODE[character]
        if number >> 64:
            return None
        decoded = int(_decrypt(self._tables, np.array([number], dtype=np.uint64))[0])
        return decoded if 0 < decoded < MAX_APPEAL_ID else None
