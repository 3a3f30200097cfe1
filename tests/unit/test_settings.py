"""The settings table: every value taken exactly or refused by name, one table for every part that reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.setting_rules import ConfigError
from app.settings import BY_NAME, DEV_ISSUER, SETTINGS, Settings, default_text, load
from deploy import configuration

ROOT = Path(__file__).parents[2]

# (variable, a value it refuses): each kind of rule, and the slips an operator makes.
REFUSED = [
    ("AUTH", "JWT"),
    ("AUTH", " jwt"),
    ("AUTH", "jwt "),
    ("AUTH", "anyone"),
    ("VISIBILITY", "Private"),
    ("VISIBILITY", "private\n"),
    ("MAX_UPLOAD_BYTES", "abc"),
    ("MAX_UPLOAD_BYTES", "-1"),
    ("MAX_UPLOAD_BYTES", "4 MiB"),
    ("MAX_UPLOAD_BYTES", "1e6"),
    ("MAX_UPLOAD_BYTES", "0"),
    ("MAX_UPLOAD_BYTES", "10000000"),  # more than a Lambda request carries
    ("LISTING_SHARDS", "65"),
    ("URL_EXPIRES_IN", "604801"),  # SigV4 signs for 7 days at most
    ("FUNCTION_TIMEOUT", "901"),
    ("STRIP_METADATA", "False"),
    ("STRIP_METADATA", "0"),
    ("STRIP_METADATA", "no"),
    ("ALLOW_DUPLICATES", "yes"),
    ("TRACING", "active"),
    ("VARIANT_SIZES", "128, 256"),
    ("VARIANT_SIZES", "128,,256"),
    ("VARIANT_SIZES", "128,99999"),
    ("API_CORS_ORIGINS", "*"),  # the API's CORS never opens to every origin
    ("API_CORS_ORIGINS", "https://app.example.com/"),
    ("API_CORS_ORIGINS", "HTTPS://App.Example.com"),
    ("API_CORS_ORIGINS", "https://a.example.com, https://b.example.com"),
    ("CORS_ORIGINS", "*,https://a.example.com"),
    ("PUBLIC_S3_ENDPOINT", "localhost:4566"),
    ("PUBLIC_S3_ENDPOINT", "http://user:secret@localhost:4566"),
    ("PUBLIC_S3_ENDPOINT", "http://localhost:45x6"),
    ("AWS_ENDPOINT_URL", "ftp://localhost"),
    ("JWT_ISSUER", "http://issuer.example.com"),  # tokens' keys over plain http
    ("JWT_JWKS_URL", "https://issuer.example.com/keys?x=1"),
    ("JWT_JWKS", "not json"),
    ("JWT_JWKS", '{"keys": []}'),
    ("JWT_AUDIENCE", "two words"),
    ("IMAGES_BUCKET", "Images_Bucket"),
    ("IMAGES_TABLE", "a b"),
    ("STAGE", "dev/1"),
    ("AWS_REGION", "US-EAST-1"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64"),
]


@pytest.mark.parametrize(("variable", "value"), REFUSED, ids=[f"{v}={w!r}" for v, w in REFUSED])
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load({variable: value})
    [(name, rule, shown)] = refused.value.problems
    assert name == variable
    assert rule.startswith("be ")
    assert str(refused.value).startswith(f"{variable}={value!r} must be ")
    assert refused.value.public == f"{variable} must {rule}"  # what an HTTP answer says: no value
    assert shown == value
    assert "\n" not in str(refused.value)


def test_a_slip_of_case_or_space_is_named_and_still_refused() -> None:
    with pytest.raises(ConfigError, match=re.escape("AUTH='JWT' must be one of none, api-key, jwt (exactly jwt: ")):
        load({"AUTH": "JWT"})
    with pytest.raises(ConfigError, match=re.escape("(exactly false: case and spaces count)")):
        load({"STRIP_METADATA": " false"})


def test_every_bad_setting_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        load({"AUTH": "JWT", "MAX_UPLOAD_BYTES": "abc", "URL_WINDOW": "-5"})
    assert [name for name, _, _ in refused.value.problems] == ["MAX_UPLOAD_BYTES", "URL_WINDOW", "AUTH"]


def test_the_values_of_secrets_and_long_values_are_never_shown() -> None:
    with pytest.raises(ConfigError) as refused:
        load({"JWT_JWKS": "x" * 500})
    assert "x" * 81 not in str(refused.value)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"VISIBILITY": "private"}, "VISIBILITY"),  # without sign-in every caller is anyone: private would be open
        ({"VISIBILITY": "private", "AUTH": "api-key"}, "VISIBILITY"),
        ({"DECODE_BUDGET_MB": "2048"}, "DECODE_BUDGET_MB"),
        ({"AUTH": "jwt"}, "JWT_ISSUER"),  # the dev issuer, where no endpoint says this is not AWS
    ],
)
def test_rules_between_settings(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(environ)
    assert [name for name, _, _ in refused.value.problems] == [variable]


def test_good_values_are_taken_as_written() -> None:
    settings = load(
        {
            "AUTH": "jwt",
            "VISIBILITY": "private",
            "JWT_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
            "VARIANT_SIZES": "512,128,128",
            "API_CORS_ORIGINS": "https://app.example.com,http://localhost:3000",
            "STRIP_METADATA": "false",
            "TRACING": "Active",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
            "FUNCTION_MEMORY_MB": "1024",  # Lambda's own says what the function has
            "PUBLIC_S3_ENDPOINT": "http://localhost:4566",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert (settings.auth, settings.visibility, settings.variant_sizes) == ("jwt", "private", (128, 512))
    assert settings.api_cors_origins == ("https://app.example.com", "http://localhost:3000")
    assert (settings.strip_metadata, settings.tracing, settings.memory_mb) == (False, True, 2048)
    assert settings.region == "eu-west-1"
    assert load({"AUTH": "jwt", "AWS_ENDPOINT_URL": "http://localhost:4566"}).jwt_issuer == DEV_ISSUER


def test_an_empty_variable_is_an_unset_one() -> None:
    assert load({"AUTH": "", "MAX_UPLOAD_BYTES": "", "API_CORS_ORIGINS": ""}) == Settings()


def test_every_default_is_a_value_its_own_rule_takes() -> None:
    for setting in SETTINGS:
        default = default_text(setting)
        if default:
            assert setting.text(load({setting.name: default})) == default, setting.name
    assert load({}) == Settings()


def test_no_variable_is_read_but_through_the_table() -> None:
    """The function reads its environment in app/settings.py alone, and only the table's variables."""
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "app").rglob("*.py")
        if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text())
    ]
    assert readers == ["app/settings.py"]
    source = (ROOT / "app" / "settings.py").read_text()
    assert re.findall(r"environ\[|environ\.get\(\"", source) == []  # by the table's names only
    assert len(BY_NAME) == sum(len(setting.variables) for setting in SETTINGS)  # no variable twice


def test_the_configuration_page_is_the_settings_table() -> None:
    """docs/configuration.md is rendered with the table made from SETTINGS at every build: never a copy."""
    from docs.hooks import SETTINGS_MARKER, render

    page = (ROOT / "docs" / "configuration.md").read_text()
    assert page.count(SETTINGS_MARKER) == 1
    rendered = render(page)
    assert configuration.markdown_table() in rendered
    for setting in SETTINGS:
        assert f"| {', '.join(f'`{name}`' for name in setting.variables)} |" in rendered
