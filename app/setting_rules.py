"""What a setting's value may be: one rule per kind of value, each parsing the environment's text
strictly and saying in words (and in CloudFormation's terms) what it takes.

Strict on purpose: a value is taken exactly as written or refused. Case and spaces
are never forgiven (`AUTH=JWT` is not `jwt`), a number is digits only, a list is
comma-separated without spaces, a URL has no credentials in it. A refusal is a
ValueError whose text completes "must be ...": app/settings.py turns it into a
ConfigError that names the setting. Standard library only, like settings.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

Problem = tuple[str, str, str | None]  # (variable, what it must be, its value where it may be shown)


@dataclass(frozen=True)
class Setting:
    """One setting: the variables that set it (the first one set wins), the Settings field it
    fills, the values it takes, what it means; its template parameter, and who reads it."""

    variables: tuple[str, ...]
    field: str
    rule: Rule
    parameter: str | None  # template.yaml's parameter for it
    meaning: str
    function: bool = True  # the Lambda reads it (the template hands it the parameter's value)
    passed: bool = True  # deploy.sh hands the function its value
    template_default: str | None = None  # the template's default, where it differs from the code's
    secret: bool = False  # its value is never shown in a refusal

    @classmethod
    def of(cls, names: str, field: str, rule: Rule, parameter: str | None, meaning: str, **more: Any) -> Setting:
        return cls(tuple(names.split()), field, rule, parameter, meaning, **more)

    @property
    def name(self) -> str:
        """The variable deploy.sh and the template set (the last: any before it are the platform's)."""
        return self.variables[-1]

    def text(self, settings: Any) -> str:
        """Its value in `settings` (app.settings.Settings), as the environment says it."""
        return self.rule.text(getattr(settings, self.field))

    def check(self, environ: Mapping[str, str]) -> tuple[Any, Problem | None]:
        """(its value in `environ`, or None where unset; the problem with it, or None). An empty
        variable is an unset one; any other value is taken exactly as written, or refused."""
        name, raw = next(((n, environ[n]) for n in self.variables if environ.get(n, "") != ""), ("", ""))
        if not name:
            return None, None
        try:
            return self.rule.parse(raw), None
        except ValueError as exc:
            return None, (name, str(exc), None if self.secret or len(raw) > 80 else raw)


class ConfigError(Exception):
    """Settings a process may not run with; each problem names its variable. `public` leaves the
    values out (an HTTP answer); `str()` shows them (the operator's terminal, the log)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = (f"{name}{'' if value is None else '=' + repr(value)} must {rule}" for name, rule, value in problems)
        super().__init__("; ".join(shown))

    @property
    def public(self) -> str:
        return "; ".join(f"{name} must {rule}" for name, rule, _ in self.problems)


LOOPBACK = ("localhost", "127.0.0.1", "::1")  # hosts whose URLs may be plain http: this machine


class Rule(Protocol):
    def parse(self, raw: str) -> Any: ...  # the typed value; ValueError("<what it must be>")
    def text(self, value: Any) -> str: ...  # the value as the environment says it
    def words(self) -> str: ...  # what it takes, for the configuration table
    def parameter(self) -> dict[str, Any]: ...  # the template parameter's Type and constraints


def _near(raw: str, choices: tuple[str, ...]) -> str:
    """A hint for a value that differs from an allowed one only in case or spaces: never taken for it."""
    near = [choice for choice in choices if choice.casefold() == raw.strip().casefold()]
    return f" (exactly {near[0]}: case and spaces count)" if near else ""


@dataclass(frozen=True)
class Integer:
    low: int = 0
    high: int | None = None

    def parse(self, raw: str) -> int:
        if not re.fullmatch(r"[0-9]{1,12}", raw) or not self._within(int(raw)):
            raise ValueError(f"be {self.words()}")
        return int(raw)

    def _within(self, value: int) -> bool:
        return value >= self.low and (self.high is None or value <= self.high)

    def text(self, value: Any) -> str:
        return str(value)

    def words(self) -> str:
        if self.high is None:
            return f"a whole number, at least {self.low}"
        return f"a whole number from {self.low} to {self.high}"

    def parameter(self) -> dict[str, Any]:
        limits = {"MinValue": self.low} | ({"MaxValue": self.high} if self.high is not None else {})
        return {"Type": "Number", **limits}


@dataclass(frozen=True)
class Choice:
    choices: tuple[str, ...]

    def parse(self, raw: str) -> str:
        if raw not in self.choices:
            raise ValueError(f"be {self.words()}{_near(raw, self.choices)}")
        return raw

    def text(self, value: Any) -> str:
        return str(value)

    def words(self) -> str:
        return "one of " + ", ".join(self.choices)

    def parameter(self) -> dict[str, Any]:
        return {"Type": "String", "AllowedValues": list(self.choices)}


@dataclass(frozen=True)
class Flag:
    """A yes or a no, in the words the setting has always used (true/false; Lambda's Active/PassThrough)."""

    yes: str = "true"
    no: str = "false"

    def parse(self, raw: str) -> bool:
        if raw not in (self.yes, self.no):
            raise ValueError(f"be {self.words()}{_near(raw, (self.yes, self.no))}")
        return raw == self.yes

    def text(self, value: Any) -> str:
        return self.yes if value else self.no

    def words(self) -> str:
        return f"{self.yes} or {self.no}"

    def parameter(self) -> dict[str, Any]:
        return {"Type": "String", "AllowedValues": [self.yes, self.no]}


@dataclass(frozen=True)
class Text:
    """A name or a token: the characters `pattern` allows (a regular expression matched whole)."""

    pattern: str
    meaning: str

    def parse(self, raw: str) -> str:
        if not re.fullmatch(self.pattern, raw):
            raise ValueError(f"be {self.meaning}")
        return raw

    def text(self, value: Any) -> str:
        return str(value)

    def words(self) -> str:
        return self.meaning

    def parameter(self) -> dict[str, Any]:
        return {"Type": "String", "AllowedPattern": f"^{self.pattern}$"}


@dataclass(frozen=True)
class Numbers:
    """A comma-separated list of whole numbers, each within [low, high]; kept sorted, once each."""

    low: int
    high: int

    def parse(self, raw: str) -> tuple[int, ...]:
        parts = raw.split(",")
        if not all(re.fullmatch(r"[0-9]{1,6}", part) and self.low <= int(part) <= self.high for part in parts):
            raise ValueError(f"be {self.words()}")
        return tuple(sorted({int(part) for part in parts}))

    def text(self, value: Any) -> str:
        return ",".join(map(str, value))

    def words(self) -> str:
        return f"whole numbers from {self.low} to {self.high}, comma-separated, no spaces"

    def parameter(self) -> dict[str, Any]:
        return {"Type": "String", "AllowedPattern": "^[0-9]+(,[0-9]+)*$"}


@dataclass(frozen=True)
class Url:
    """An http(s) URL without credentials, query or fragment; `secure`: https, but for this machine."""

    secure: bool = False

    def parse(self, raw: str) -> str:
        if not self._good(raw):
            raise ValueError(f"be {self.words()}")
        return raw

    def _good(self, raw: str) -> bool:
        if re.search(r"[\s\x00-\x1f\x7f]", raw):
            return False
        try:
            parts = urlsplit(raw)
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError:
            return False
        schemes = ("https",) if self.secure and parts.hostname not in LOOPBACK else ("http", "https")
        plain = "@" not in parts.netloc and not parts.query and not parts.fragment
        return parts.scheme in schemes and bool(parts.hostname) and plain

    def text(self, value: Any) -> str:
        return str(value)

    def words(self) -> str:
        scheme = "an https URL (http only for localhost)" if self.secure else "an http or https URL"
        return f"{scheme}, without user, password, query or fragment"

    def parameter(self) -> dict[str, Any]:
        return {"Type": "String", "AllowedPattern": "^(https?://[^\\s@?#]+)?$"}


ORIGIN = r"https?://(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?"


@dataclass(frozen=True)
class Origins:
    """Browser origins (scheme://host[:port], lower case, as browsers send them), comma-separated;
    `any`: `*` may stand for every origin (the bucket's CORS, which serves presigned requests only)."""

    any: bool = False

    def parse(self, raw: str) -> tuple[str, ...]:
        if self.any and raw == "*":
            return ("*",)
        parts = raw.split(",")
        if not all(re.fullmatch(ORIGIN, part) for part in parts):
            raise ValueError(f"be {self.words()}")
        return tuple(parts)

    def text(self, value: Any) -> str:
        return ",".join(value)

    def words(self) -> str:
        every = "`*` or " if self.any else ""
        return f"{every}origins such as https://app.example.com, comma-separated, lower case, no spaces or paths"

    def parameter(self) -> dict[str, Any]:
        every = "\\*|" if self.any else ""
        return {"Type": "String", "AllowedPattern": f"^({every}({ORIGIN})(,{ORIGIN})*)?$"}


@dataclass(frozen=True)
class KeySet:
    """A JSON Web Key Set, as JSON text: an object whose `keys` is a list of keys (objects)."""

    def parse(self, raw: str) -> str:
        try:
            keys = json.loads(raw).get("keys")
        except (ValueError, AttributeError):
            keys = None
        if not isinstance(keys, list) or not keys or not all(isinstance(key, dict) for key in keys):
            raise ValueError(f"be {self.words()}")
        return raw

    def text(self, value: Any) -> str:
        return str(value)

    def words(self) -> str:
        return 'a JSON Web Key Set: {"keys": [...]}'

    def parameter(self) -> dict[str, Any]:
        return {"Type": "String"}
