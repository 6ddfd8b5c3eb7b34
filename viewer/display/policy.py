"""Which display class an exam needs, which class a screen has, and the verdict.

The 2011 French national specification for imaging archives asks for
diagnostic screens of at least 2 MP for sectional exams and 3 MP for
projection radiography; breast imaging uses 5 MP. The classes, their
thresholds (physical megapixels) and the exam -> class table live in
``resources/policy/display.toml``; a site overrides them from its site
configuration (``[display]`` in :func:`viewer.config.load_config` ``.site``,
inline tables and/or ``policy_file = "..."``). The user's own configuration
cannot change it: it is a site policy.

Qt-free: the reading station (``viewer/ui``) calls :func:`check` with a
:class:`~viewer.display.screens.ScreenInfo` each time a series is shown, the
window changes screen or the screen set changes, and :func:`reading_decision`
to know whether to open, show the banner, ask for an acknowledgement and
record it in the access trail.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from viewer.config import ConfigError, load_config, merge, read_toml
from viewer.display.screens import ScreenInfo
from viewer.resources import resource_path

log = logging.getLogger(__name__)


def default_policy_path() -> Path:
    return resource_path("policy/display.toml")


@dataclass(frozen=True)
class DisplayClass:
    name: str
    min_megapixels: float
    nominal: float

    @property
    def label(self) -> str:
        return f"{_fmt_number(self.nominal, '.')} MP"


@dataclass(frozen=True)
class DisplayPolicy:
    """The display rules in force (defaults merged with the site's overrides)."""

    classes: dict[str, DisplayClass]
    exams: dict[str, str]
    exams_by_sop_class: dict[str, str] = field(default_factory=dict)
    default_required: str | None = "2MP"
    no_requirement: frozenset[str] = frozenset()
    qa: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def ordered_classes(self) -> list[DisplayClass]:
        return sorted(self.classes.values(), key=lambda c: c.min_megapixels)


@dataclass(frozen=True)
class Verdict:
    """Whether a screen may be used for reading an exam, and the banner text if not."""

    fit: bool
    modality: str
    required: str | None
    required_megapixels: float | None
    actual_mp: float
    screen_class: str | None
    screen_name: str = ""
    message_en: str = ""
    message_fr: str = ""

    def message(self, language: str = "en") -> str:
        """Banner text in the UI language ('fr...' gives French, anything else English)."""
        return self.message_fr if language.lower().startswith("fr") else self.message_en

    def audit_detail(self) -> dict[str, Any]:
        """What the access trail records about the screen an exam was viewed on."""
        return {
            "screen": self.screen_name,
            "screen_megapixels": round(self.actual_mp, 2),
            "screen_class": self.screen_class,
            "required_class": self.required,
            "modality": self.modality,
            "diagnostic_screen": self.fit,
        }


def _fmt_number(value: float, decimal_mark: str) -> str:
    text = f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
    return text.replace(".", decimal_mark)


def _floor1(mp: float) -> float:
    """Megapixels shown with one decimal, rounded down (2.96 must not read as 3.0)."""
    return math.floor(mp * 10 + 1e-9) / 10


def _parse(data: dict[str, Any], source: str) -> DisplayPolicy:
    try:
        classes = {
            name: DisplayClass(
                name, float(v["min_megapixels"]), float(v.get("nominal", v["min_megapixels"]))
            )
            for name, v in data.get("classes", {}).items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{source}: display classes need a numeric min_megapixels ({exc})"
        ) from exc
    if not classes:
        raise ConfigError(f"{source}: no display classes defined")
    for c in classes.values():
        if c.min_megapixels <= 0:
            raise ConfigError(f"{source}: class {c.name}: min_megapixels must be positive")
    exams = {str(k).upper(): str(v) for k, v in data.get("exams", {}).items()}
    by_sop = {str(k): str(v) for k, v in data.get("exams_by_sop_class", {}).items()}
    default = data.get("exams_default", {})
    required = default.get("required", "2MP")
    required = None if required in ("", "none", None) else str(required)
    for where, name in [*exams.items(), *by_sop.items(), ("default", required)]:
        if name is not None and name not in classes:
            raise ConfigError(f"{source}: exam {where} needs unknown display class {name!r}")
    none = frozenset(str(m).upper() for m in default.get("none", []))
    return DisplayPolicy(classes, exams, by_sop, required, none, dict(data.get("qa", {})), source)


def load_policy(site: dict[str, Any] | None = None) -> DisplayPolicy:
    """The display policy: ``resources/policy/display.toml`` with the site's overrides.

    ``site`` is the site configuration (default: ``load_config().site``); its
    ``[display]`` table may name a ``policy_file`` merged over the defaults and
    carry inline tables merged over that.
    """
    path = default_policy_path()
    data = read_toml(path)
    if not data:
        raise ConfigError(f"{path}: default display policy missing or empty")
    sources = [str(path)]
    site_cfg = load_config().site if site is None else site
    display = site_cfg.get("display", {})
    if not isinstance(display, dict):
        raise ConfigError("site configuration: [display] must be a table")
    display = dict(display)
    policy_file = display.pop("policy_file", None)
    if policy_file:
        extra_path = Path(str(policy_file)).expanduser()
        if not extra_path.is_file():
            raise ConfigError(
                f"{extra_path}: display policy file named by the site configuration not found"
            )
        data = merge(data, read_toml(extra_path))
        sources.append(str(extra_path))
    if display:
        data = merge(data, display)
        sources.append("site [display]")
    return _parse(data, " + ".join(sources))


def required_class(
    modality: str, policy: DisplayPolicy | None = None, sop_class_uid: str | None = None
) -> str | None:
    """The display class an exam type needs (None: no diagnostic requirement, e.g. SR)."""
    pol = policy or load_policy()
    if sop_class_uid and sop_class_uid in pol.exams_by_sop_class:
        return pol.exams_by_sop_class[sop_class_uid]
    mod = (modality or "").strip().upper()
    if mod in pol.exams:
        return pol.exams[mod]
    if mod in pol.no_requirement:
        return None
    return pol.default_required


def screen_class(screen: ScreenInfo, policy: DisplayPolicy | None = None) -> str | None:
    """The highest class whose threshold the screen's physical pixel count reaches."""
    pol = policy or load_policy()
    best = None
    for cls in pol.ordered_classes():
        if screen.megapixels + 1e-9 >= cls.min_megapixels:
            best = cls.name
    return best


def check(
    screen: ScreenInfo,
    modality: str,
    policy: DisplayPolicy | None = None,
    sop_class_uid: str | None = None,
) -> Verdict:
    """Is ``screen`` fit for reading a ``modality`` exam? With the banner text if not."""
    pol = policy or load_policy()
    mod = (modality or "").strip().upper()
    need = required_class(mod, pol, sop_class_uid)
    actual = screen_class(screen, pol)
    mp = screen.megapixels
    if need is None:
        return Verdict(True, mod, None, None, mp, actual, screen.name)
    need_cls = pol.classes[need]
    fit = mp + 1e-9 >= need_cls.min_megapixels
    en = fr = ""
    if not fit:
        shown = _floor1(mp)
        en = (
            f"Not for diagnosis: this screen is {shown:.1f} MP, "
            f"{mod} needs {_fmt_number(need_cls.nominal, '.')} MP"
        )
        fr = (
            f"Pas pour le diagnostic : cet écran fait {f'{shown:.1f}'.replace('.', ',')} MP, "
            f"le {mod} exige {_fmt_number(need_cls.nominal, ',')} MP"
        )
    return Verdict(fit, mod, need, need_cls.min_megapixels, mp, actual, screen.name, en, fr)


class ReadingMode(StrEnum):
    """How the exam is opened: a radiologist's diagnostic reading or a consultation."""

    DIAGNOSTIC = "diagnostic"
    CONSULTATION = "consultation"


@dataclass(frozen=True)
class ReadingDecision:
    """What the reading station does with a verdict.

    ``open``: show the images; ``banner``: keep the red banner up;
    ``needs_acknowledgement``: ask the radiologist first (then call again with
    ``acknowledged=True``); ``audit``: None, ``"non-diagnostic-screen"`` or
    ``"non-diagnostic-screen-acknowledged"`` for the access trail, with
    :meth:`Verdict.audit_detail`.
    """

    open: bool
    banner: bool
    needs_acknowledgement: bool
    audit: str | None


def reading_decision(
    verdict: Verdict, mode: ReadingMode | str, acknowledged: bool = False
) -> ReadingDecision:
    """Consultation opens anywhere (banner shown); diagnostic reading needs an acknowledgement."""
    mode = ReadingMode(mode)
    if verdict.fit:
        return ReadingDecision(True, False, False, None)
    if mode is ReadingMode.CONSULTATION:
        return ReadingDecision(True, True, False, "non-diagnostic-screen")
    if not acknowledged:
        return ReadingDecision(False, True, True, None)
    return ReadingDecision(True, True, False, "non-diagnostic-screen-acknowledged")


def fitness_for_audit(
    verdict: Verdict, mode: ReadingMode | str, decision: ReadingDecision
) -> dict[str, Any]:
    """What to pass as ``screen_fitness`` to the access gate when images are shown.

    E.g. ``gate.authorize_and_record(Action.VIEW, ..., screen_fitness=fitness_for_audit(...))``:
    the screen, its class, the class the exam needs, the reading mode, and whether
    the radiologist acknowledged reading on a non-diagnostic screen.
    """
    out = verdict.audit_detail()
    out.update(
        reading_mode=str(ReadingMode(mode)),
        status=decision.audit or ("fit" if verdict.fit else "not-opened"),
        acknowledged=decision.audit == "non-diagnostic-screen-acknowledged",
    )
    return out
