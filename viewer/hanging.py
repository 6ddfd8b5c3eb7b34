"""Hanging protocols: which layout a study opens in and which series goes where; Qt-free.

A *protocol* matches a study (modality, body part examined, a series
description, the number of priors present) and lists *stages* the reader
steps through (first applicable stage shown on opening). A stage has a
layout (``"1x1"``, ``"1x2"``, ``"2x2"``, any ``"RxC"`` up to 4x4, or
``"mpr"``: one series in axial/coronal/sagittal) and one *viewport rule* per
cell, in row-major order, saying which display set goes there: from the
current study or the most recent ``prior`` holding a match, filtered by
modality, series description (regular expression, searched, case-insensitive),
orientation, image laterality and view position (mammography and
radiography), picked by ``choose`` (``first`` by series number, ``last``,
``thinnest``, ``most_images``) and ``index`` (the n-th candidate). Each display
set fills at most one cell of a stage; with ``fill_empty`` the cells no rule
could fill get the remaining current series in series-number order.

Mammography (PS3.3 C.8.11.7 Mammography Image Module; IHE Mammography Image
profile): a viewport rule may ask for the chest wall on its ``left`` or
``right`` side (``chest_wall``), so right and left breasts hang back to back.
The image is flipped horizontally when its Patient Orientation (0020,0020)
row direction (towards the image's right) points the wrong way: with the
chest wall wanted on the right the row direction must be posterior (P),
with it wanted on the left anterior (A). Without Patient Orientation the
rule's ``mirror`` flag decides. With ``head_up`` (MLO views) the image is
flipped vertically when its column direction (downwards) points to the head.

Files: the defaults ship in ``resources/hanging/protocols.toml``; each user's
own protocols are in ``$REGARD_HOME/hanging-protocols.toml`` (same schema), merged over
the defaults by name: a user protocol replaces the default of the same name,
``enabled = false`` switches one off, new names are added. Protocols are tried
by decreasing ``priority``, user ones first at equal priority, then in file
order. Every error names the file and the protocol.

Display sets come from the index (:func:`study_from_index`): one per series,
or one per image for projection modalities (MG, CR, DX, IO, PX) where each
image is its own view. Body part, laterality, view position and patient
orientation are those the index read while scanning: hanging a study reads no
file (headers are read only for entries lacking them).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from viewer.config import ConfigError, regard_home
from viewer.resources import resource_path

log = logging.getLogger(__name__)

DEFAULT_FILE = "hanging/protocols.toml"
USER_FILE = "hanging-protocols.toml"
PROJECTION_MODALITIES = ("MG", "CR", "DX", "IO", "PX", "RF", "XA")
CHOICES = ("first", "last", "thinnest", "most_images")
ORIENTATIONS = ("", "axial", "coronal", "sagittal", "oblique")
_LAYOUT = re.compile(r"^([1-4])x([1-4])$")

_PROTOCOL_KEYS = {"name", "priority", "enabled", "match", "stage", "fill_empty", "description"}
_MATCH_KEYS = {"modality", "body_part", "series_description", "min_priors", "max_priors"}
_STAGE_KEYS = {"name", "layout", "viewport", "min_priors"}
_VIEWPORT_KEYS = {
    "study", "modality", "series_description", "orientation", "laterality", "view", "choose",
    "index", "chest_wall", "mirror", "same_description_as", "head_up",
}


class HangingError(ConfigError):
    """A hanging protocol file is wrong; the message names the file and the protocol."""


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class DisplaySet:
    """Something one viewport shows: a series, or one image of a projection series."""

    uid: str
    series_uid: str
    study_uid: str
    modality: str
    description: str = ""
    number: int | None = None
    body_part: str = ""
    laterality: str = ""  # R / L: ImageLaterality (0020,0062), else Laterality (0020,0060)
    view: str = ""  # ViewPosition (0018,5101): CC, MLO, PA, AP, LL ...
    orientation: str = ""  # axial / coronal / sagittal / oblique, from Image Orientation
    slice_spacing: float | None = None  # mm between slices (smaller = thinner)
    images: int = 1
    frame_of_reference: str = ""
    patient_orientation: tuple[str, str] = ("", "")  # (0020,0020): row, column directions
    sop_instance_uid: str = ""


@dataclass(frozen=True)
class StudyInfo:
    """A study's date and its display sets (any order)."""

    study_uid: str
    date: str = ""  # YYYYMMDD
    time: str = ""
    display_sets: tuple[DisplaySet, ...] = ()

    @property
    def modalities(self) -> set[str]:
        return {d.modality.upper() for d in self.display_sets}


def display_set(**kwargs: Any) -> DisplaySet:
    """A DisplaySet from a dict-like (tests, the GUI's own models); ``uid`` defaults to the
    series UID."""
    kwargs.setdefault("uid", kwargs.get("series_uid", ""))
    kwargs.setdefault("series_uid", kwargs["uid"])
    kwargs.setdefault("study_uid", "")
    po = kwargs.get("patient_orientation")
    if po is not None:
        kwargs["patient_orientation"] = tuple(po)
    return DisplaySet(**kwargs)


# --------------------------------------------------------------- protocols
@dataclass(frozen=True)
class ViewportRule:
    study: str = "current"  # current | prior
    modality: tuple[str, ...] = ()
    series_description: re.Pattern[str] | None = None
    orientation: str = ""
    laterality: str = ""
    view: re.Pattern[str] | None = None  # full match, case-insensitive
    choose: str = "first"
    index: int = 0
    chest_wall: str = ""  # "" | left | right
    mirror: bool = False
    same_description_as: int | None = None  # cell index whose description must be equal
    head_up: bool = False  # flip vertically when the column direction points to the head


@dataclass(frozen=True)
class Stage:
    name: str
    layout: str
    viewports: tuple[ViewportRule, ...]
    min_priors: int = 0

    @property
    def grid(self) -> tuple[int, int]:
        if self.layout == "mpr":
            return (1, 1)
        m = _LAYOUT.match(self.layout)
        assert m is not None
        return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class Match:
    modality: tuple[str, ...] = ()
    body_part: re.Pattern[str] | None = None
    series_description: re.Pattern[str] | None = None
    min_priors: int = 0
    max_priors: int | None = None


@dataclass(frozen=True)
class Protocol:
    name: str
    match: Match
    stages: tuple[Stage, ...]
    priority: int = 0
    fill_empty: bool = True
    source: str = ""  # the file it was read from
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# ------------------------------------------------------------------ output
@dataclass(frozen=True)
class Cell:
    """One viewport of a hanging: ``display_set`` (None: empty), shown flipped left-right
    when ``flip_horizontal`` (top-bottom when ``flip_vertical``); ``prior`` when it comes
    from a prior study."""

    row: int
    col: int
    display_set: DisplaySet | None
    flip_horizontal: bool = False
    prior: bool = False
    flip_vertical: bool = False


@dataclass(frozen=True)
class Hanging:
    protocol: str
    stage: str
    layout: str
    rows: int
    cols: int
    cells: tuple[Cell, ...]

    @property
    def mpr(self) -> bool:
        return self.layout == "mpr"


# ---------------------------------------------------------------- parsing
def _regex(value: Any, where: str, key: str) -> re.Pattern[str] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise HangingError(f"{where}: {key} must be a regular expression string, got {value!r}")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise HangingError(
            f"{where}: {key} {value!r} is not a valid regular expression: {exc}"
        ) from None


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HangingError(f"{where}: {key} must be a string or a list of strings")
    return tuple(v.upper() for v in value)


def _int(value: Any, where: str, key: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise HangingError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_keys(table: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise HangingError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise HangingError(
            f"{where}: unknown key {unknown[0]!r} (expected one of {', '.join(sorted(allowed))})"
        )
    return table


def _viewport(raw: Any, where: str) -> ViewportRule:
    t = _check_keys(raw, _VIEWPORT_KEYS, where)
    study = t.get("study", "current")
    if study not in ("current", "prior"):
        raise HangingError(f"{where}: study must be 'current' or 'prior', got {study!r}")
    choose = t.get("choose", "first")
    if choose not in CHOICES:
        raise HangingError(f"{where}: choose must be one of {', '.join(CHOICES)}, got {choose!r}")
    orientation = str(t.get("orientation", "")).lower()
    if orientation not in ORIENTATIONS:
        raise HangingError(f"{where}: orientation must be one of {', '.join(ORIENTATIONS[1:])}")
    laterality = str(t.get("laterality", "")).upper()
    if laterality not in ("", "R", "L"):
        raise HangingError(f"{where}: laterality must be 'R' or 'L', got {laterality!r}")
    chest_wall = str(t.get("chest_wall", "")).lower()
    if chest_wall not in ("", "left", "right"):
        raise HangingError(f"{where}: chest_wall must be 'left' or 'right', got {chest_wall!r}")
    mirror = t.get("mirror", False)
    head_up = t.get("head_up", False)
    if not isinstance(mirror, bool) or not isinstance(head_up, bool):
        raise HangingError(f"{where}: mirror and head_up must be true or false")
    same = t.get("same_description_as")
    view = t.get("view")
    return ViewportRule(
        study=study,
        modality=_strings(t.get("modality"), where, "modality"),
        series_description=_regex(t.get("series_description"), where, "series_description"),
        orientation=orientation,
        laterality=laterality,
        view=_regex(f"(?:{view})" if view else None, where, "view"),
        choose=choose,
        index=_int(t.get("index", 0), where, "index"),
        chest_wall=chest_wall,
        mirror=mirror,
        same_description_as=None if same is None else _int(same, where, "same_description_as"),
        head_up=head_up,
    )


def _stage(raw: Any, where: str) -> Stage:
    t = _check_keys(raw, _STAGE_KEYS, where)
    layout = t.get("layout")
    if not isinstance(layout, str) or (layout != "mpr" and not _LAYOUT.match(layout)):
        raise HangingError(f"{where}: layout must be 'mpr' or 'RxC' (1-4 each), got {layout!r}")
    vps = t.get("viewport", [])
    if not isinstance(vps, list) or not vps:
        raise HangingError(f"{where}: a stage needs at least one viewport rule")
    rules = tuple(_viewport(v, f"{where}, viewport {n + 1}") for n, v in enumerate(vps))
    stage = Stage(str(t.get("name", layout)), layout, rules,
                  _int(t.get("min_priors", 0), where, "min_priors"))
    rows, cols = stage.grid
    if len(rules) > rows * cols:
        raise HangingError(
            f"{where}: {len(rules)} viewport rules for a {layout} layout of {rows * cols} cells"
        )
    for n, rule in enumerate(rules):
        if rule.same_description_as is not None and rule.same_description_as >= n:
            raise HangingError(
                f"{where}, viewport {n + 1}: same_description_as must name an earlier cell"
            )
    return stage


def parse_protocol(raw: Any, source: str) -> Protocol:
    """One ``[[protocol]]`` table; ``source`` (the file) goes into every error message."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise HangingError(f"{source}: every [[protocol]] needs a name")
    where = f"{source}: protocol {raw['name']!r}"
    t = _check_keys(raw, _PROTOCOL_KEYS, where)
    m = _check_keys(t.get("match", {}), _MATCH_KEYS, f"{where}, match")
    max_priors = m.get("max_priors")
    match = Match(
        modality=_strings(m.get("modality"), where, "match.modality"),
        body_part=_regex(m.get("body_part"), where, "match.body_part"),
        series_description=_regex(m.get("series_description"), where, "match.series_description"),
        min_priors=_int(m.get("min_priors", 0), where, "match.min_priors"),
        max_priors=None if max_priors is None else _int(max_priors, where, "match.max_priors"),
    )
    stages_raw = t.get("stage", [])
    if not isinstance(stages_raw, list) or not stages_raw:
        raise HangingError(f"{where}: needs at least one [[protocol.stage]]")
    stages = tuple(_stage(s, f"{where}, stage {n + 1}") for n, s in enumerate(stages_raw))
    priority = t.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise HangingError(f"{where}: priority must be an integer")
    fill = t.get("fill_empty", True)
    if not isinstance(fill, bool):
        raise HangingError(f"{where}: fill_empty must be true or false")
    return Protocol(str(t["name"]), match, stages, priority, fill, source, dict(raw))


def read_protocols(path: Path) -> tuple[list[Protocol], set[str]]:
    """Protocols of one file, and the names it disables (``enabled = false``)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise HangingError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise HangingError(f"{path}: cannot read hanging protocols: {exc}") from exc
    unknown = sorted(set(data) - {"protocol"})
    if unknown:
        raise HangingError(f"{path}: unknown top-level key {unknown[0]!r} (expected [[protocol]])")
    raws = data.get("protocol", [])
    if not isinstance(raws, list):
        raise HangingError(f"{path}: 'protocol' must be an array of tables ([[protocol]])")
    protocols, disabled, seen = [], set(), set()
    for raw in raws:
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            raise HangingError(f"{path}: protocol {name!r} is defined twice")
        seen.add(name)
        if not isinstance(raw, dict):
            raise HangingError(f"{path}: every [[protocol]] must be a table")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise HangingError(f"{path}: protocol {name!r}: enabled must be true or false")
        body = {k: v for k, v in raw.items() if k != "enabled"}
        if not enabled:
            if not isinstance(name, str) or not name:
                raise HangingError(f"{path}: every [[protocol]] needs a name")
            disabled.add(name)  # switched off (kept in the file, e.g. to turn on again later)
            if set(body) != {"name"}:
                parse_protocol(body, str(path))
            continue
        protocols.append(parse_protocol(body, str(path)))
    return protocols, disabled


def user_protocols_path() -> Path:
    return regard_home() / USER_FILE


def load_protocols(
    default: Path | None = None, user: Path | None = None
) -> list[Protocol]:
    """The defaults with the user's file merged over them, in trial order (module docstring)."""
    default = default or resource_path(DEFAULT_FILE)
    if not default.is_file():
        raise HangingError(f"{default}: default hanging protocols are missing")
    base, _ = read_protocols(default)
    user = user or user_protocols_path()
    own, disabled = read_protocols(user) if user.is_file() else ([], set())
    names = {p.name for p in own} | disabled
    merged = [(p, 0) for p in own] + [(p, 1) for p in base if p.name not in names]
    order = {id(p): n for n, (p, _) in enumerate(merged)}
    merged.sort(key=lambda pr: (-pr[0].priority, pr[1], order[id(pr[0])]))
    return [p for p, _ in merged]


def save_user_protocol(raw: dict[str, Any], path: Path | None = None) -> Path:
    """Add or replace (by name) one protocol in the user's file, validated first; atomic write.

    ``raw`` is the TOML table of one protocol (as in ``protocols.toml``); ``{"name": X,
    "enabled": False}`` switches the default X off for this user; a whole table with
    ``enabled = false`` keeps the user's version, switched off.
    """
    path = path or user_protocols_path()
    if not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise HangingError(f"{path}: every protocol needs a name")
    body = {k: v for k, v in raw.items() if k != "enabled"}
    if raw.get("enabled", True) is not False or set(body) != {"name"}:
        parse_protocol(body, str(path))
    existing = _raw_tables(path) if path.is_file() else []  # a broken file is not rewritten
    existing = [p for p in existing if p.get("name") != raw.get("name")] + [raw]
    _write_tables(existing, path)
    return path


@dataclass
class EditableProtocol:
    """One protocol as the editor shows it: its TOML table (``raw``, without ``enabled``),
    where it comes from (``default``, ``user`` or ``user over default``) and whether it is
    switched on for this user."""

    raw: dict[str, Any]
    origin: str
    enabled: bool = True

    @property
    def name(self) -> str:
        return str(self.raw.get("name", ""))


def _raw_tables(path: Path) -> list[dict[str, Any]]:
    read_protocols(path)  # validated first: errors name the file and the protocol
    with path.open("rb") as fh:
        return [dict(t) for t in tomllib.load(fh).get("protocol", [])]


def editable_protocols(default: Path | None = None,
                       user: Path | None = None) -> list[EditableProtocol]:
    """Every protocol a user can edit, in trial order then the switched-off ones: the user's
    own, the defaults they override (``user over default``) and the other defaults."""
    default = default or resource_path(DEFAULT_FILE)
    user = user or user_protocols_path()
    base = {t["name"]: t for t in _raw_tables(default)}
    own = _raw_tables(user) if user.is_file() else []
    out: dict[str, EditableProtocol] = {}
    for t in own:
        name = t["name"]
        enabled = t.get("enabled", True) is not False
        body = {k: v for k, v in t.items() if k != "enabled"}
        if set(body) == {"name"} and name in base:  # only switches a default off
            body = dict(base[name])
        origin = "user over default" if name in base else "user"
        out[name] = EditableProtocol(body, origin, enabled)
    for name, t in base.items():
        out.setdefault(name, EditableProtocol(dict(t), "default", True))
    order = {p.name: n for n, p in enumerate(load_protocols(default, user))}
    return sorted(out.values(), key=lambda p: (not p.enabled, order.get(p.name, len(order))))


def remove_user_protocol(name: str, path: Path | None = None) -> bool:
    """Drop ``name`` from the user's file (a default of that name applies again); atomic.
    Returns False when the user's file has no such protocol."""
    path = path or user_protocols_path()
    if not path.is_file():
        return False
    tables = _raw_tables(path)
    kept = [t for t in tables if t.get("name") != name]
    if len(kept) == len(tables):
        return False
    _write_tables(kept, path)
    return True


def _write_tables(tables: list[dict[str, Any]], path: Path) -> None:
    import tomli_w

    text = tomli_w.dumps({"protocol": tables})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".hanging-", suffix=".toml", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    read_protocols(path)


# ---------------------------------------------------------------- matching
def _order(study: StudyInfo) -> tuple[str, str]:
    return (study.date, study.time)


def relevant_priors(current: StudyInfo, priors: Iterable[StudyInfo],
                    modalities: tuple[str, ...] = ()) -> list[StudyInfo]:
    """Priors older than ``current`` (holding one of ``modalities`` when given), newest first."""
    out = [
        p for p in priors
        if p.study_uid != current.study_uid and _order(p) <= _order(current)
        and (not modalities or p.modalities & set(modalities))
    ]
    return sorted(out, key=_order, reverse=True)


def protocol_matches(protocol: Protocol, current: StudyInfo, priors: Sequence[StudyInfo]) -> bool:
    m = protocol.match
    if m.modality and not current.modalities & set(m.modality):
        return False
    sets = current.display_sets
    if m.body_part and not any(m.body_part.search(d.body_part) for d in sets):
        return False
    if m.series_description and not any(m.series_description.search(d.description) for d in sets):
        return False
    n = len(relevant_priors(current, priors, m.modality))
    return n >= m.min_priors and (m.max_priors is None or n <= m.max_priors)


def _sort_key(choose: str) -> Any:
    def number(d: DisplaySet) -> tuple:
        return (d.number is None, d.number if d.number is not None else 0, d.description, d.uid)

    if choose == "thinnest":
        return lambda d: (d.slice_spacing is None, d.slice_spacing or 0.0, -d.images, *number(d))
    if choose == "most_images":
        return lambda d: (-d.images, *number(d))
    if choose == "last":
        return lambda d: (d.number is None, -(d.number or 0), d.description, d.uid)
    return number


def _candidates(rule: ViewportRule, sets: Iterable[DisplaySet], used: set[str],
                cells: list[Cell]) -> list[DisplaySet]:
    out = []
    for d in sets:
        if d.uid in used:
            continue
        if rule.modality and d.modality.upper() not in rule.modality:
            continue
        if rule.series_description and not rule.series_description.search(d.description):
            continue
        if rule.orientation and d.orientation != rule.orientation:
            continue
        if rule.laterality and d.laterality.upper() != rule.laterality:
            continue
        if rule.view and not rule.view.fullmatch(d.view.strip()):
            continue
        if rule.same_description_as is not None:
            ref = cells[rule.same_description_as].display_set
            if ref is None or ref.description.strip().lower() != d.description.strip().lower():
                continue
        out.append(d)
    return sorted(out, key=_sort_key(rule.choose))


def flip_for_chest_wall(d: DisplaySet, rule: ViewportRule) -> bool:
    """Horizontal flip so the chest wall lands on the rule's side (module docstring)."""
    if not rule.chest_wall:
        return rule.mirror
    row_dir = d.patient_orientation[0].strip().upper() if d.patient_orientation else ""
    if not row_dir or row_dir[0] not in "AP":
        return rule.mirror
    wanted = "P" if rule.chest_wall == "right" else "A"
    return row_dir[0] != wanted


def flip_for_head_up(d: DisplaySet, rule: ViewportRule) -> bool:
    """Vertical flip so the head is up: the column direction (0020,0020) must not be H."""
    col_dir = d.patient_orientation[1].strip().upper() if len(d.patient_orientation) > 1 else ""
    return bool(rule.head_up and col_dir[:1] == "H")


def hang_stage(protocol: Protocol, stage: Stage, current: StudyInfo,
               priors: Sequence[StudyInfo]) -> Hanging:
    rows, cols = stage.grid
    used: set[str] = set()
    cells: list[Cell] = []
    ordered_priors = relevant_priors(current, priors)
    for n in range(rows * cols):
        r, c = divmod(n, cols)
        rule = stage.viewports[n] if n < len(stage.viewports) else None
        chosen: DisplaySet | None = None
        prior = False
        if rule is not None:
            studies = [current] if rule.study == "current" else ordered_priors
            for study in studies:
                found = _candidates(rule, study.display_sets, used, cells)
                if len(found) > rule.index:
                    chosen, prior = found[rule.index], rule.study == "prior"
                    break
        flip = flip_for_chest_wall(chosen, rule) if chosen is not None and rule else False
        vflip = flip_for_head_up(chosen, rule) if chosen is not None and rule else False
        if chosen is not None:
            used.add(chosen.uid)
        cells.append(Cell(r, c, chosen, flip, prior, vflip))
    if protocol.fill_empty and stage.layout != "mpr":
        rest = [d for d in sorted(current.display_sets, key=_sort_key("first"))
                if d.uid not in used]
        for n, cell in enumerate(cells):
            if cell.display_set is None and rest:
                cells[n] = replace(cell, display_set=rest.pop(0))
    return Hanging(protocol.name, stage.name, stage.layout, rows, cols, tuple(cells))


def hang(current: StudyInfo, priors: Sequence[StudyInfo] = (),
         protocols: Sequence[Protocol] | None = None) -> list[Hanging]:
    """The stages of the first protocol matching ``current`` (given its ``priors``), each
    filled; stages that need more priors than there are are left out. The first is what the
    study opens in. With no matching protocol: the first series alone (1x1)."""
    protocols = load_protocols() if protocols is None else protocols
    for protocol in protocols:
        if not protocol_matches(protocol, current, priors):
            continue
        n_priors = len(relevant_priors(current, priors, protocol.match.modality))
        out = [hang_stage(protocol, s, current, priors)
               for s in protocol.stages if s.min_priors <= n_priors]
        out = [h for h in out if any(c.display_set is not None for c in h.cells)]
        if out:
            log.debug("hanging protocol %r, %d stage(s)", protocol.name, len(out))
            return out
    first = sorted(current.display_sets, key=_sort_key("first"))[:1]
    return [Hanging("built-in", "1x1", "1x1", 1, 1,
                    (Cell(0, 0, first[0] if first else None),))]


# --------------------------------------------------------------- from index
def orientation_name(iop: Sequence[float] | None) -> str:
    """axial / coronal / sagittal when the slice normal is within ~15 degrees of a patient
    axis (PS3.3 C.7.6.2.1.1 Image Orientation), else oblique; "" without orientation."""
    if not iop or len(iop) < 6:
        return ""
    n = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:6], float))
    norm = float(np.linalg.norm(n))
    if norm < 1e-6:
        return ""
    n = np.abs(n / norm)
    axis = int(np.argmax(n))
    if n[axis] < 0.966:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _spacing(instances: Sequence[Any]) -> float | None:
    pos = [i.image_position for i in instances if i.image_position is not None]
    iop = next((i.image_orientation for i in instances if i.image_orientation), None)
    if len(pos) < 2 or not iop:
        return None
    n = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:6], float))
    d = np.unique(np.round(np.asarray(pos, float) @ n, 4))
    return float(np.median(np.diff(d))) if len(d) > 1 else None


_TAGS = ("BodyPartExamined", "ImageLaterality", "Laterality", "ViewPosition",
         "PatientOrientation")


def read_tags(path: Path) -> dict[str, Any]:
    """Body part, laterality, view and patient orientation of one file (header only)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(_TAGS))
    except Exception as exc:  # unreadable header: hang without these tags
        log.warning("hanging: cannot read tags of a file: %s", exc)
        return {}
    po = ds.get("PatientOrientation", None)
    po_list = list(po) if po is not None and not isinstance(po, str) else ([po] if po else [])
    return {
        "body_part": str(ds.get("BodyPartExamined", "") or ""),
        "laterality": str(ds.get("ImageLaterality", "") or ds.get("Laterality", "") or ""),
        "view": str(ds.get("ViewPosition", "") or ""),
        "patient_orientation": tuple([*map(str, po_list), "", ""][:2]),
    }


def _indexed_tags(series: Any, inst: Any) -> dict[str, Any] | None:
    """The hanging tags of one image as the index read them while scanning
    (:mod:`viewer.dicom.index`); None when the entries lack them (not made by a scan)."""
    body_part = getattr(series, "body_part", None)
    laterality = getattr(inst, "laterality", None)
    view = getattr(inst, "view_position", None)
    po = getattr(inst, "patient_orientation", None)
    if body_part is None or laterality is None or view is None or po is None:
        return None
    return {"body_part": body_part, "laterality": laterality, "view": view,
            "patient_orientation": tuple(po)}


def _tags(series: Any, inst: Any, with_tags: bool) -> dict[str, Any]:
    """Indexed tags, else (``with_tags``) the file's header, else none."""
    tags = _indexed_tags(series, inst)
    if tags is not None:
        return tags
    return read_tags(inst.path) if with_tags else {}


def _archive_set(row: dict[str, Any]) -> DisplaySet:
    """One display set of an archive's series match (C-FIND / QIDO-RS series level): what
    it returns (modality, number, description, body part), no image-level tags."""
    def text(key: str) -> str:
        value = row.get(key, "")
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        return str(value or "").strip()

    number = text("SeriesNumber")
    count = text("NumberOfSeriesRelatedInstances")
    return DisplaySet(
        uid=text("SeriesInstanceUID"), series_uid=text("SeriesInstanceUID"),
        study_uid=text("StudyInstanceUID"), modality=text("Modality"),
        description=text("SeriesDescription"),
        number=int(number) if number.lstrip("-").isdigit() else None,
        body_part=text("BodyPartExamined"), images=int(count) if count.isdigit() else 1)


def display_sets_from_series(series: Iterable[Any], with_tags: bool = True) -> list[DisplaySet]:
    """Display sets of ``viewer.dicom.index.SeriesEntry`` objects: one per series, or one per
    image for projection modalities. Body part, laterality, view position and patient
    orientation come from the index entries (read once while scanning); only entries
    lacking them (not made by a scan) have them read from the headers, when ``with_tags``
    (first file of a series; every file of a projection series). An archive's series match
    (a dict, study not retrieved yet) gives one display set with what the archive returned."""
    sets: list[DisplaySet] = []
    for s in series:
        if isinstance(s, dict):
            sets.append(_archive_set(s))
            continue
        if s is None or not s.instances:
            continue
        base = {
            "series_uid": s.series_uid, "study_uid": s.study_uid, "modality": s.modality,
            "description": s.description, "number": s.number,
            "frame_of_reference": s.frame_of_reference_uid,
        }
        if s.modality.upper() in PROJECTION_MODALITIES:
            for inst in s.instances:
                sets.append(DisplaySet(
                    uid=f"{s.series_uid}/{inst.sop_instance_uid}", images=inst.number_of_frames,
                    sop_instance_uid=inst.sop_instance_uid, **base,
                    **_tags(s, inst, with_tags)))
            continue
        sets.append(DisplaySet(
            uid=s.series_uid, images=s.number_of_frames,
            orientation=orientation_name(s.instances[0].image_orientation),
            slice_spacing=_spacing(s.instances), **base,
            **_tags(s, s.instances[0], with_tags)))
    return sets


def study_from_index(index: Any, study_uid: str, with_tags: bool = True) -> StudyInfo:
    """A :class:`StudyInfo` from a ``viewer.dicom.index.DicomIndex`` study
    (:func:`display_sets_from_series`)."""
    study = index.studies[study_uid]
    series = [index.series.get(uid) for uid in study.series_uids]
    sets = display_sets_from_series(series, with_tags)
    return StudyInfo(study.study_uid, study.date, study.time, tuple(sets))


def studies_for(index: Any, study_uid: str, with_tags: bool = True
                ) -> tuple[StudyInfo, list[StudyInfo]]:
    """The study and the other studies of the same patient in the index (its priors)."""
    current = study_from_index(index, study_uid, with_tags)
    patient = index.studies[study_uid].patient_key
    priors = [study_from_index(index, uid, with_tags) for uid, st in index.studies.items()
              if st.patient_key == patient and uid != study_uid]
    return current, priors
