"""A clock that survives a restart: scaled (or real) time anchored to the wall clock.

``now = origin_ms + (wall_ms - anchor_wall_ms) · scale``. The anchor is stored in the run's store,
so a long acquisition started again after a crash finds the same time line: the simulated world
has moved on by ``downtime · scale`` while the process was down, exactly like a real site moves
on while the bench is off. A virtual clock cannot do that (it has no notion of time passing while
nobody is polling), which is why ``meterbench acquire`` never uses one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class AnchoredClock:
    origin_ms: int
    anchor_wall_ms: int
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError("scale must be positive")

    @property
    def kind(self) -> str:
        return "real" if self.scale == 1.0 and self.origin_ms == self.anchor_wall_ms else "scaled"

    def now_ms(self) -> int:
        return self.origin_ms + int((wall_ms() - self.anchor_wall_ms) * self.scale)

    async def sleep_until(self, t_ms: int) -> None:
        delay = (t_ms - self.now_ms()) / 1000.0 / self.scale
        if delay > 0:
            await asyncio.sleep(delay)

    def as_dict(self) -> dict[str, Any]:
        return dict(origin_ms=self.origin_ms, anchor_wall_ms=self.anchor_wall_ms, scale=self.scale)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnchoredClock:
        return cls(int(data["origin_ms"]), int(data["anchor_wall_ms"]), float(data["scale"]))
