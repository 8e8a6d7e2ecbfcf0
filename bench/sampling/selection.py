"""Reproducible random selection of the meters to test, with spares.

Method (written into every selection so an auditor can repeat it with any tool): rank each meter
of the lot by the SHA-256 hex digest of the text ``"<seed>:<meter_id>"`` (UTF-8), smallest first.
The first ``n`` are the sample (for a double plan: the first ``n1`` the first sample, the next
``n2`` the second), the following ``spares`` are the spares, used in that order for meters that
cannot be reached. The ranking depends only on the seed and the meter ids, not on the inventory's
row order, the platform or a library version.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from meterbench.core.errors import UserError

METHOD = ('rank meters by SHA-256 hex digest of "<seed>:<meter_id>" (UTF-8), ascending; first n '
          'are the sample (double plan: n1 then n2), the next ones the spares in order')


def new_seed() -> str:
    """A fresh seed, recorded with the selection (64 random bits as 16 hex digits)."""
    return secrets.token_hex(8)


def rank_key(seed: str, meter_id: str) -> str:
    return hashlib.sha256(f"{seed}:{meter_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Selection:
    seed: str
    method: str
    sample: tuple[str, ...]
    second_sample: tuple[str, ...]
    spares: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"seed": self.seed, "method": self.method, "sample": list(self.sample),
                "second_sample": list(self.second_sample), "spares": list(self.spares)}


def select(meter_ids: Sequence[str], n: int, *, seed: str, spares: int = 0,
           n2: int = 0) -> Selection:
    """Draw ``n`` (+ ``n2`` for a double plan) meters and ``spares`` spares from a lot."""
    ids = list(meter_ids)
    if len(set(ids)) != len(ids):
        raise UserError("duplicate meter ids in the lot", field="meter_id", expected="unique ids")
    if n < 1 or n2 < 0 or spares < 0:
        raise UserError(f"sample {n}+{n2} with {spares} spares", field="n",
                        expected="n >= 1, n2 >= 0, spares >= 0")
    if not seed:
        raise UserError("empty seed", field="seed", expected="a non-empty text")
    ordered = sorted(ids, key=lambda m: rank_key(seed, m))
    if n + n2 > len(ordered):
        # 100 % inspection: every meter is in the sample
        return Selection(seed, METHOD, tuple(ordered), (), ())
    first = ordered[:n]
    second = ordered[n:n + n2]
    rest = ordered[n + n2:n + n2 + spares]
    return Selection(seed, METHOD, tuple(first), tuple(second), tuple(rest))


def default_spares(n: int) -> int:
    """This project's default number of spares: 10 % of the sample, at least 2 (a convention
    for field logistics, not a regulatory number; override with ``--spares``)."""
    return max(2, -(-n // 10))
