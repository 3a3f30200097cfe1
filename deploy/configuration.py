"""The settings table of app/settings.py, turned into what the other parts need (standard library only).

    python -m deploy.configuration table                  the configuration table (Markdown), which the
                                                          documentation's docs/hooks.py puts in
                                                          docs/configuration.md at every build
    python -m deploy.configuration check-parameters "CURRENT" NAME=VALUE ...
                                                          deploy/stack.sh: refuse bad template parameters
                                                          (CURRENT: the stack's parameters now, "K=V K=V")

The template's parameters take their types and constraints from the same table
(`parameter`), so CloudFormation refuses what the function would refuse, and
`check-parameters` refuses it before anything is changed, with the rules
between settings (VISIBILITY=private needs AUTH=jwt) that CloudFormation has
no words for.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from app.setting_rules import ConfigError, Setting
from app.settings import SETTINGS, default_text, load

# The template's own issuer when Auth=jwt (its Cognito user pool), for the rules between settings.
TEMPLATE_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/the-stacks-user-pool"


def parameter(setting: Setting) -> dict[str, Any]:
    """The template parameter of a setting: its rule's type and constraints, its default, its meaning."""
    default = setting.template_default if setting.template_default is not None else default_text(setting)
    spec = setting.rule.parameter()
    value: str | int = int(default) if spec["Type"] == "Number" else default
    return {**spec, "Default": value, "Description": re.sub(r"`([^`]*)`", r"\1", setting.meaning)}


def by_parameter() -> dict[str, Setting]:
    return {setting.parameter: setting for setting in SETTINGS if setting.parameter}


def check_parameters(current: dict[str, str], given: dict[str, str], template: dict[str, Any]) -> list[str]:
    """What is wrong with `given` (NAME=VALUE of template parameters, over the stack's `current` ones):
    each value by its setting's rule (or, for the template's own parameters, its declared constraints),
    then the rules between settings."""
    problems, settings = [], by_parameter()
    for name, value in given.items():
        if name not in template:
            problems.append(f"{name} is not a parameter of template.yaml")
        elif name in settings:
            problem = settings[name].check({settings[name].name: value})[1]
            if problem is not None:
                problems.append(f"{name}={value!r} ({problem[0]}) must {problem[1]}")
        else:
            problems += _declared(name, value, template[name])
    if problems:
        return problems
    merged = {**current, **given}
    environ = {settings[name].name: value for name, value in merged.items() if name in settings}
    if merged.get("Auth") == "jwt":
        environ["JWT_ISSUER"] = TEMPLATE_ISSUER
    try:
        load(environ)
    except ConfigError as exc:
        return [str(exc)]
    return []


def _declared(name: str, value: str, spec: dict[str, Any]) -> list[str]:
    """A template-only parameter against its declared constraints, as CloudFormation checks them."""
    if "AllowedValues" in spec and value not in spec["AllowedValues"]:
        return [f"{name}={value!r} must be one of {', '.join(map(str, spec['AllowedValues']))}"]
    if spec.get("Type") == "Number":
        low, high = spec.get("MinValue", 0), spec.get("MaxValue")
        if not re.fullmatch(r"[0-9]{1,12}", value) or int(value) < low or (high is not None and int(value) > high):
            return [f"{name}={value!r} must be a whole number, at least {low}" + (f", at most {high}" if high else "")]
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return [f"{name}={value!r} must match {spec['AllowedPattern']}"]
    return []


def markdown_table() -> str:
    """The configuration table: every setting, its default, what it takes and what it means."""
    lines = ["| variable | default | takes | |", "| --- | --- | --- | --- |"]
    for setting in SETTINGS:
        names = ", ".join(f"`{name}`" for name in setting.variables)
        default = default_text(setting)
        lines.append(
            f"| {names} | {f'`{default}`' if default else '(none)'} | {setting.rule.words()} | {setting.meaning} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "table" and not args:
        print(markdown_table(), end="")
    elif command == "check-parameters" and args:
        from deploy.template import parameters

        pairs = [pair.split("=", 1) for pair in args[1:]]
        if any(len(pair) != 2 for pair in pairs):
            print("deploy/stack.sh: parameters are Name=Value", file=sys.stderr)
            return 2
        current = dict(pair.split("=", 1) for pair in args[0].split() if "=" in pair)
        problems = check_parameters(current, dict(pairs), parameters())
        for problem in problems:
            print(f"deploy/stack.sh: {problem}; nothing was changed", file=sys.stderr)
        return 2 if problems else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
