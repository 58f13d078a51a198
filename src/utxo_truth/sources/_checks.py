"""Formerly the shared checks; they live in :mod:`._spv` now (kept so that old imports work)."""

from __future__ import annotations

from ._spv import Restart, hex32, is_int, merkle_problem, pinned

__all__ = ["Restart", "hex32", "is_int", "merkle_problem", "pinned"]
