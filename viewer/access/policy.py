"""Site access policy: roles x permissions, care relationship, break-the-glass, opposition.

The default policy is ``resources/policy/access.toml``. The site configuration
(managed by IT) overrides it freely; the user's own configuration may only make
it stricter (:func:`merge_no_weaken`, issue 7): a user can never grant
themself an action, lift a care-relationship requirement, lengthen an emergency
access, shorten the audit retention or drop a patient's opposition.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viewer.access.patient import PatientRef
from viewer.config import Config, load_config, merge
from viewer.resources import resource_path

log = logging.getLogger(__name__)

PERMISSIONS = (
    "query_demographics",
    "see_images",
    "see_reports",
    "export",
    "print",
    "change_settings",
)
ROLES = ("radiologist", "referring_physician", "technologist", "secretary", "administrator")
MIN_RETENTION_DAYS = 183  # six months rolling (French public health code)


class PolicyError(ValueError):
    """The access policy cannot be read or is inconsistent; the message says where."""


@dataclass(frozen=True)
class RoleRule:
    name: str
    actions: frozenset[str]
    clinician: bool
    care_relationship: bool


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    mode: str  # "normal" | "break_glass"
    message: str = ""


@dataclass(frozen=True)
class AccessPolicy:
    """The effective access rules of this workstation."""

    roles: dict[str, RoleRule]
    site_id: str = ""
    domain: str = ""
    default_role: str = "radiologist"
    self_declared_roles: frozenset[str] = frozenset()
    break_glass_max_minutes: int = 60
    break_glass_actions: frozenset[str] = frozenset()
    break_glass_overrides_opposition: bool = False
    idle_lock_minutes: int = 15
    care_self_declared: bool = True
    opposition: frozenset[str] = frozenset()
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    retention_days: int = MIN_RETENTION_DAYS
    repository: str = ""
    audit: dict[str, Any] = field(default_factory=dict)

    # -- loading -----------------------------------------------------------------
    @classmethod
    def load(cls, config: Config | None = None) -> AccessPolicy:
        """Default policy, then the site's tables, then the user's (stricter only)."""
        config = config or load_config()
        base = default_policy_tables()
        site = _policy_tables(config.site)
        user = _policy_tables(config.user)
        effective = merge_no_weaken(merge(base, site), user)
        return cls.from_tables(effective)

    @classmethod
    def from_tables(cls, tables: dict[str, Any]) -> AccessPolicy:
        acc = dict(tables.get("access", {}))
        audit = dict(tables.get("audit", {}))
        roles: dict[str, RoleRule] = {}
        for name, rule in (acc.get("roles") or {}).items():
            actions = frozenset(rule.get("actions", []))
            unknown = actions - set(PERMISSIONS)
            if unknown:
                raise PolicyError(
                    f"access policy: role {name!r} has unknown actions {sorted(unknown)} "
                    f"(known: {', '.join(PERMISSIONS)})"
                )
            roles[name] = RoleRule(
                name=name,
                actions=actions,
                clinician=bool(rule.get("clinician", False)),
                care_relationship=bool(rule.get("care_relationship", False)),
            )
        opposition = set(acc.get("opposition") or [])
        for path in _as_list(acc.get("opposition_file")):
            opposition |= _read_opposition_file(Path(path))
        retention = int(audit.get("retention_days", MIN_RETENTION_DAYS))
        if retention < MIN_RETENTION_DAYS:
            log.warning("audit retention %d days raised to the minimum %d", retention,
                        MIN_RETENTION_DAYS)
            retention = MIN_RETENTION_DAYS
        return cls(
            roles=roles,
            site_id=str(acc.get("site_id", "")),
            domain=str(acc.get("domain", "")),
            default_role=str(acc.get("default_role", "radiologist")),
            self_declared_roles=frozenset(acc.get("self_declared_roles", [])),
            break_glass_max_minutes=int(acc.get("break_glass_max_minutes", 60)),
            break_glass_actions=frozenset(acc.get("break_glass_actions", [])),
            break_glass_overrides_opposition=bool(
                acc.get("break_glass_overrides_opposition", False)
            ),
            idle_lock_minutes=int(acc.get("idle_lock_minutes", 15)),
            care_self_declared=bool(acc.get("care_self_declared", True)),
            opposition=frozenset(str(x) for x in opposition),
            users=dict(acc.get("users") or {}),
            retention_days=retention,
            repository=str(audit.get("repository", "")),
            audit=audit,
        )

    # -- decisions ---------------------------------------------------------------
    def is_opposed(self, patient: PatientRef | None) -> bool:
        return bool(patient and patient.keys() & self.opposition)

    def decide(
        self,
        role: str,
        permission: str,
        patient: PatientRef | None = None,
        *,
        care_relationship: bool = False,
        break_glass: bool = False,
        origin_site: str | None = None,
    ) -> PolicyDecision:
        """Apply the rules in order: role, opposition, role's actions, care relationship.

        ``break_glass`` is True when the user has a running emergency access for
        this patient; it opens ``break_glass_actions`` for clinicians, outside
        the matrix and the care relationship (never a patient's opposition unless
        the site says so).
        """
        if permission not in PERMISSIONS:
            raise PolicyError(f"unknown permission {permission!r}")
        rule = self.roles.get(role)
        if rule is None:
            return PolicyDecision(False, "normal", f"role {role!r} is not in the site policy")
        emergency = (
            break_glass and rule.clinician and permission in self.break_glass_actions
        )
        if patient is not None and self.is_opposed(patient) and not (
            origin_site and self.site_id and origin_site == self.site_id
        ):
            if not (emergency and self.break_glass_overrides_opposition):
                where = f" (site {origin_site})" if origin_site else ""
                return PolicyDecision(
                    False,
                    "normal",
                    "the patient has opposed sharing their images outside the site that "
                    f"produced them{where}; this workstation "
                    f"({self.site_id or 'unknown site'}) may not open them",
                )
            return PolicyDecision(True, "break_glass", "emergency access despite opposition")
        if permission not in rule.actions:
            if emergency:
                return PolicyDecision(True, "break_glass", "emergency access")
            return PolicyDecision(
                False, "normal", f"the role {role} may not {permission.replace('_', ' ')}"
            )
        if rule.care_relationship and patient is not None and not care_relationship:
            if emergency:
                return PolicyDecision(True, "break_glass", "emergency access")
            return PolicyDecision(
                False,
                "normal",
                "no care relationship with this patient (not on your patient list, and you are "
                "not the referring physician of the study); declare an emergency to open it",
            )
        return PolicyDecision(True, "normal", "")


def default_policy_tables() -> dict[str, Any]:
    path = resource_path("policy/access.toml")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the default access policy: {exc}") from exc


def _policy_tables(tables: dict[str, Any]) -> dict[str, Any]:
    return {k: tables[k] for k in ("access", "audit") if isinstance(tables.get(k), dict)}


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _read_opposition_file(path: Path) -> set[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        # Failing open here would show opposed patients: refuse to load the policy.
        raise PolicyError(f"{path}: cannot read the opposition list: {exc}") from exc
    return {ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")}


# -- the "user cannot weaken the site" merge -----------------------------------------

_ACCESS_MIN = ("break_glass_max_minutes", "idle_lock_minutes")
_ACCESS_INTERSECT = ("self_declared_roles", "break_glass_actions")
_ACCESS_UNION = ("opposition",)
_SITE_ONLY = ("site_id", "domain", "default_role", "users")


def merge_no_weaken(site: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """Merge the user's ``[access]``/``[audit]`` tables over the site's, stricter only.

    - role actions: intersection (a user may drop, never add, an action; unknown roles
      are ignored); ``care_relationship``: either; ``clinician``: both;
    - ``self_declared_roles``, ``break_glass_actions``: intersection;
    - ``break_glass_max_minutes``, ``idle_lock_minutes``: the smaller;
    - ``break_glass_overrides_opposition``, ``care_self_declared``: both must allow it;
    - ``opposition`` and ``opposition_file``: union;
    - ``site_id``, ``domain``, ``default_role``, ``users``: the site's only;
    - ``[audit] retention_days``: the larger; ``repository``: the site's when it sets one.
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in site.items()}
    acc = dict(out.get("access", {}))
    uacc = user.get("access", {}) or {}
    for key, value in uacc.items():
        if key in _SITE_ONLY:
            if value != acc.get(key):
                log.warning("user configuration cannot change [access] %s (site policy)", key)
        elif key in _ACCESS_MIN:
            acc[key] = min(int(value), int(acc.get(key, value))) if int(value) > 0 else acc.get(key)
        elif key in _ACCESS_INTERSECT:
            acc[key] = [x for x in acc.get(key, []) if x in set(value)]
        elif key in _ACCESS_UNION:
            acc[key] = sorted(set(acc.get(key, [])) | set(value))
        elif key == "opposition_file":
            acc[key] = _as_list(acc.get(key)) + _as_list(value)
        elif key in ("break_glass_overrides_opposition", "care_self_declared"):
            acc[key] = bool(acc.get(key, False)) and bool(value)
        elif key == "roles":
            acc["roles"] = _merge_roles(acc.get("roles", {}), value)
        else:
            log.warning("user configuration: [access] %s is not a known setting; ignored", key)
    out["access"] = acc
    audit = dict(out.get("audit", {}))
    for key, value in (user.get("audit", {}) or {}).items():
        if key == "retention_days":
            audit[key] = max(int(value), int(audit.get(key, MIN_RETENTION_DAYS)))
        elif key == "repository":
            if not audit.get("repository"):
                audit[key] = value
            elif value != audit.get("repository"):
                log.warning("user configuration cannot change the site's audit repository")
        elif key not in audit:
            audit[key] = value  # transport details the site left open (e.g. ca_file)
        elif value != audit[key]:
            log.warning("user configuration cannot change [audit] %s (site policy)", key)
    out["audit"] = audit
    return out


def _merge_roles(site_roles: dict[str, Any], user_roles: dict[str, Any]) -> dict[str, Any]:
    roles = {k: dict(v) for k, v in site_roles.items()}
    for name, urule in user_roles.items():
        if name not in roles:
            log.warning("user configuration cannot add the role %r", name)
            continue
        rule = roles[name]
        if "actions" in urule:
            rule["actions"] = [a for a in rule.get("actions", []) if a in set(urule["actions"])]
        if "care_relationship" in urule:
            rule["care_relationship"] = bool(rule.get("care_relationship")) or bool(
                urule["care_relationship"]
            )
        if "clinician" in urule:
            rule["clinician"] = bool(rule.get("clinician")) and bool(urule["clinician"])
    return roles
