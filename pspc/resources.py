"""Locate the grammar and stdlib folders both in a wheel and in a source checkout.

The wheel ships them inside the package (pspc/grammar, pspc/stdlib); a checkout keeps
them at the top level of the repository, beside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"pspc is installed without its {name}/ folder")
