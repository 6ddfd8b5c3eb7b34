"""Hanging protocols: which layout, and which series in which viewport, for a study (Qt-free).

Rules live in TOML (``resources/hanging/default.toml``, documented there) and
a user's own file ``REGARD_HOME/hanging.toml`` (same format) whose rules are
tried first; :func:`save_user_protocols` writes that file. The first rule
whose conditions all match wins; :func:`hang` applies it to a study's series.
Series are anything with ``modality``, ``description``, ``number`` and
``instances`` (``viewer.dicom.index.SeriesEntry``); priors are lists of them.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viewer.config import regard_home
from viewer.resources import resource_path
from viewer.ui.models import LAYOUTS

log = logging.getLogger(__name__)

SELECTORS = ("largest", "next", "prior")


@dataclass
class HangingRule:
    name: str
    layout: str
    cells: list[str]
    modality: list[str] = field(default_factory=list)
    body_part: list[str] = field(default_factory=list)
    description: str = ""
    priors: bool | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"hanging protocol {self.name!r}: unknown layout {self.layout!r}")
        for cell in self.cells:
            if cell not in SELECTORS and not cell.startswith("match:"):
                raise ValueError(f"hanging protocol {self.name!r}: unknown selector {cell!r}")
            if cell.startswith("match:"):
                re.compile(cell[6:])
        if self.description:
            re.compile(self.description)

    def matches(self, modalities: set[str], body_parts: set[str], descriptions: list[str],
                has_priors: bool) -> bool:
        if self.modality and not modalities & {m.upper() for m in self.modality}:
            return False
        if self.body_part and not body_parts & {b.upper() for b in self.body_part}:
            return False
        if self.description and not any(re.search(self.description, d, re.IGNORECASE)
                                         for d in descriptions):
            return False
        return self.priors is None or self.priors == has_priors

    def to_toml(self) -> str:
        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = ["[[protocol]]", f"name = {q(self.name)}", f"layout = {q(self.layout)}",
                 "cells = [" + ", ".join(q(c) for c in self.cells) + "]"]
        if self.modality:
            lines.append("modality = [" + ", ".join(q(m) for m in self.modality) + "]")
        if self.body_part:
            lines.append("body_part = [" + ", ".join(q(b) for b in self.body_part) + "]")
        if self.description:
            lines.append(f"description = {q(self.description)}")
        if self.priors is not None:
            lines.append(f"priors = {'true' if self.priors else 'false'}")
        return "\n".join(lines) + "\n"


def user_protocols_path() -> Path:
    return regard_home() / "hanging.toml"


def _read(path: Path) -> list[HangingRule]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    rules = []
    for n, item in enumerate(data.get("protocol", [])):
        try:
            rules.append(HangingRule(**item))
        except (TypeError, ValueError, re.error) as exc:
            raise ValueError(f"{path}: protocol {n + 1} is invalid ({exc})") from exc
    return rules


def load_protocols() -> list[HangingRule]:
    """The user's rules (if any) then the defaults; a broken user file is named and skipped."""
    rules: list[HangingRule] = []
    user = user_protocols_path()
    if user.exists():
        try:
            rules.extend(_read(user))
        except (OSError, ValueError) as exc:
            log.warning("hanging protocols of the user ignored: %s", exc)
    return rules + _read(resource_path("hanging/default.toml"))


def save_user_protocols(rules: Sequence[HangingRule]) -> Path:
    path = user_protocols_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(r.to_toml() for r in rules), encoding="utf-8")
    return path


def _images(series: Sequence[Any]) -> list[Any]:
    out = [s for s in series if getattr(s, "instances", None)]
    out.sort(key=lambda s: (getattr(s, "number", None) is None, getattr(s, "number", 0) or 0))
    return out


def hang(series: Sequence[Any], priors: Sequence[Sequence[Any]] = (),
         rules: Sequence[HangingRule] | None = None, study_description: str = "",
         ) -> tuple[HangingRule, list[Any]]:
    """(rule, series per viewport) for a study; ``priors``: older studies' series, newest first.

    The list may hold ``None`` where nothing fits a cell (the viewport stays empty).
    """
    current = _images(series)
    rules = list(rules) if rules is not None else load_protocols()
    modalities = {str(getattr(s, "modality", "")).upper() for s in current}
    body_parts = {str(getattr(s, "body_part", "")).upper() for s in current} - {""}
    descriptions = [study_description] + [str(getattr(s, "description", "")) for s in current]
    prior_images = [_images(p) for p in priors if _images(p)]
    rule = next((r for r in rules if r.matches(modalities, body_parts, descriptions,
                                               bool(prior_images))), rules[-1])
    used: list[Any] = []

    def unused(s: Any) -> bool:
        return not any(s is u for u in used)

    def take_next() -> Any:
        return next((s for s in current if unused(s)), None)

    hung: list[Any] = []
    for cell in rule.cells:
        pick = None
        if cell == "largest":
            pick = max((s for s in current if unused(s)), default=None,
                       key=lambda s: len(s.instances))
        elif cell == "prior" and prior_images:
            pick = max(prior_images[0], key=lambda s: len(s.instances))
        elif cell.startswith("match:"):
            pattern = re.compile(cell[6:], re.IGNORECASE)
            pick = next((s for s in current if unused(s)
                         and pattern.search(str(getattr(s, "description", "")))), None)
        if pick is None:
            pick = take_next()
        if pick is not None and any(pick is s for s in current):
            used.append(pick)
        hung.append(pick)
    return rule, hung
