"""The person using Regard, by name: never a shared login.

Providers:

- :class:`OsAccountProvider` — personal reading station: the OS account, with
  the professional profile of the ``[user]`` table of the configuration
  (``display_name``, ``rpps``, ``adeli``, ``profession``, ``role``; the site may
  map accounts in ``[access.users.<login>]``, which wins). With nothing
  configured the role is the policy's ``default_role`` (radiologist).
- :class:`LocalAccountProvider` — shared station: named local accounts with a
  slow salted scrypt hash (RFC 7914), locked after idle (:class:`Session`) and
  re-authenticated.
- :class:`OidcProvider` — maps the userinfo of an OpenID Connect login (the
  national health-professional identity service, Pro Santé Connect) to a
  :class:`User`; the browser/token flow lives with the GUI.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from viewer.access.policy import AccessPolicy
from viewer.config import Config, load_config, regard_home


class IdentityError(Exception):
    """The user cannot be identified or authenticated; the message says why."""


class SessionLocked(IdentityError):
    """The session was locked after idle time: authenticate again."""


@dataclass(frozen=True)
class User:
    """A named professional. ``user_id`` is ``login@domain`` (PS3.15 A.5 UserID)."""

    login: str
    domain: str
    display_name: str
    role: str
    rpps: str = ""
    adeli: str = ""
    profession: str = ""
    provider: str = "os"
    dicom_name: str = ""  # e.g. "MARTIN^JEAN", to recognise the referring physician

    @property
    def user_id(self) -> str:
        return f"{self.login}@{self.domain}" if self.domain else self.login

    @property
    def professional_id(self) -> str:
        """RPPS number if known, else ADELI (empty when neither)."""
        return self.rpps or self.adeli

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"user_id": self.user_id}


class IdentityProvider(Protocol):
    """Anything that can tell who the user is."""

    name: str

    def current_user(self) -> User: ...


def workstation_name() -> str:
    return socket.gethostname() or "localhost"


def _domain(policy: AccessPolicy) -> str:
    return policy.domain or workstation_name()


def _profile_user(
    login: str, profile: dict[str, Any], policy: AccessPolicy, provider: str,
    *, role_from_site: bool
) -> User:
    role = str(profile.get("role") or policy.default_role)
    if role not in policy.roles:
        raise IdentityError(f"role {role!r} of user {login} is not defined by the site policy")
    if not role_from_site and profile.get("role") and role not in policy.self_declared_roles:
        raise IdentityError(
            f"the site policy does not let users declare themselves {role!r}; "
            "ask your administrator to set your role"
        )
    return User(
        login=login,
        domain=_domain(policy),
        display_name=str(profile.get("display_name") or login),
        role=role,
        rpps=str(profile.get("rpps", "")),
        adeli=str(profile.get("adeli", "")),
        profession=str(profile.get("profession", "")),
        provider=provider,
        dicom_name=str(profile.get("dicom_name", "")),
    )


class OsAccountProvider:
    """The OS account mapped to a professional profile (personal reading station)."""

    name = "os"

    def __init__(self, config: Config | None = None, policy: AccessPolicy | None = None) -> None:
        self.config = config or load_config()
        self.policy = policy or AccessPolicy.load(self.config)

    def current_user(self) -> User:
        try:
            login = getpass.getuser()
        except (OSError, KeyError) as exc:  # no USER/LOGNAME and no passwd entry
            raise IdentityError(f"cannot tell who is using Regard (no OS account name): {exc}"
                                ) from exc
        site_map = self.policy.users.get(login)
        if site_map:
            profile = dict(self.config.user.get("user", {})) | dict(site_map)
            return _profile_user(login, profile, self.policy, self.name, role_from_site=True)
        site_user = self.config.site.get("user", {}) if isinstance(self.config.site, dict) else {}
        user_tab = self.config.user.get("user", {})
        profile = dict(site_user) | {k: v for k, v in user_tab.items() if k != "role"}
        role_from_site = "role" in site_user
        if "role" in user_tab and not role_from_site:
            profile["role"] = user_tab["role"]
        return _profile_user(login, profile, self.policy, self.name, role_from_site=role_from_site)


# -- local accounts (shared stations) ------------------------------------------------

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """scrypt (RFC 7914) with a random 16-byte salt: ``scrypt$n$r$p$salt$hash``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * 1024 * 1024,
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


class LocalAccountProvider:
    """Named local accounts for shared stations, stored with scrypt hashes.

    The accounts file (``[access] accounts_file``, default
    ``$REGARD_HOME/access/accounts.json``) maps a login to its profile and hash.
    """

    name = "local"

    def __init__(self, path: Path | None = None, policy: AccessPolicy | None = None) -> None:
        self.policy = policy or AccessPolicy.load()
        self.path = path or regard_home() / "access" / "accounts.json"
        self._user: User | None = None

    def _load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IdentityError(f"{self.path}: cannot read local accounts: {exc}") from exc

    def _save(self, accounts: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(accounts, indent=1, sort_keys=True), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def add_account(self, login: str, password: str, *, role: str, display_name: str,
                    rpps: str = "", adeli: str = "", profession: str = "",
                    scrypt_n: int = SCRYPT_N) -> None:
        if role not in self.policy.roles:
            raise IdentityError(f"role {role!r} is not defined by the site policy")
        if len(password) < 12:
            raise IdentityError("a password needs at least 12 characters")
        accounts = self._load()
        accounts[login] = {
            "display_name": display_name, "role": role, "rpps": rpps, "adeli": adeli,
            "profession": profession, "hash": hash_password(password, n=scrypt_n),
        }
        self._save(accounts)

    def authenticate(self, login: str, password: str) -> User:
        entry = self._load().get(login)
        # Always spend the hashing time so that unknown logins are not faster to reject.
        ok = check_password(password, entry["hash"] if entry else hash_password("x", n=2**14))
        if not entry or not ok:
            raise IdentityError("unknown login or wrong password")
        self._user = _profile_user(login, entry, self.policy, self.name, role_from_site=True)
        return self._user

    def current_user(self) -> User:
        if self._user is None:
            raise IdentityError("nobody is logged in on this shared station")
        return self._user


class Session:
    """A logged-in user, locked after ``idle_seconds`` without activity."""

    def __init__(self, user: User, idle_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.user = user
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._last = clock()
        self.locked = False

    def touch(self) -> None:
        """Record activity; raises :class:`SessionLocked` once the idle time has passed."""
        self.require_active()
        self._last = self._clock()

    def require_active(self) -> None:
        if not self.locked and self._clock() - self._last > self.idle_seconds:
            self.locked = True
        if self.locked:
            raise SessionLocked(
                f"session of {self.user.display_name} locked after "
                f"{self.idle_seconds / 60:g} idle minutes: authenticate again"
            )

    def unlock(self, user: User) -> None:
        """Re-authentication succeeded: it must be the same person."""
        if user.user_id != self.user.user_id:
            raise IdentityError("a locked session can only be unlocked by its own user")
        self.locked = False
        self._last = self._clock()


# -- OpenID Connect (Pro Santé Connect) ----------------------------------------------

#: Profession codes (TRE_G15 "Profession", OID 1.2.250.1.71.1.2.7) to default roles.
PSC_PROFESSION_ROLES = {"10": "radiologist"}


class OidcProvider:
    """Maps an OpenID Connect userinfo (Pro Santé Connect) to a :class:`User`.

    The authorization-code flow (``acr_values=eidas1``, mutual TLS client
    authentication, RFC 8705) needs a browser and lives with the GUI; once it
    has the userinfo claims, :meth:`login` gives the user.
    """

    name = "oidc"

    def __init__(self, policy: AccessPolicy | None = None,
                 role_map: dict[str, str] | None = None) -> None:
        self.policy = policy or AccessPolicy.load()
        self.role_map = role_map or {}
        self._user: User | None = None

    def login(self, claims: dict[str, Any]) -> User:
        national_id = str(claims.get("SubjectNameID") or claims.get("sub") or "")
        if not national_id:
            raise IdentityError("the identity provider gave no professional identifier")
        rpps = national_id[1:] if national_id.startswith("8") else ""
        given = str(claims.get("given_name", ""))
        family = str(claims.get("family_name", ""))
        profession = ""
        for code in claims.get("SubjectRole", []) or []:
            profession = str(code).split("^")[0]
            break
        role = self.role_map.get(national_id) or PSC_PROFESSION_ROLES.get(profession)
        if role is None or role not in self.policy.roles:
            raise IdentityError(
                f"no role is configured for this professional (profession code {profession!r})"
            )
        self._user = User(
            login=str(claims.get("preferred_username") or national_id),
            domain=_domain(self.policy),
            display_name=f"{given} {family}".strip() or national_id,
            role=role,
            rpps=rpps,
            profession=profession,
            provider=self.name,
            dicom_name=f"{family.upper()}^{given.upper()}" if family else "",
        )
        return self._user

    def current_user(self) -> User:
        if self._user is None:
            raise IdentityError("not logged in with the national identity service")
        return self._user


def with_role(user: User, role: str) -> User:
    return replace(user, role=role)
