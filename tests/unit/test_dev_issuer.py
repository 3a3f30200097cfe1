"""The dev issuer: one key however many processes make it at once, readable only by its owner."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import jwt
import pytest

from app.settings import DEV_AUDIENCE, DEV_ISSUER
from deploy import dev_issuer


def key_id_in(folder: str) -> str:
    dev_issuer.KEY_FILE = Path(folder) / "dev-issuer.pem"
    return dev_issuer.key_id()


def test_processes_racing_to_make_the_key_share_one(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        kids = pool.map(key_id_in, [str(tmp_path)] * 8)

    assert len(set(kids)) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["dev-issuer.pem"]
    assert stat.S_IMODE((tmp_path / "dev-issuer.pem").stat().st_mode) == 0o600


def test_its_tokens_verify_against_its_jwks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev_issuer, "KEY_FILE", tmp_path / "dev-issuer.pem")
    token = dev_issuer.token("alice", admin=True)

    key = jwt.PyJWKSet.from_json(dev_issuer.jwks()).keys[0]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=DEV_AUDIENCE, issuer=DEV_ISSUER)

    assert (jwt.get_unverified_header(token)["kid"], key.key_id) == (dev_issuer.key_id(), dev_issuer.key_id())
    assert (claims["cognito:username"], claims["cognito:groups"]) == ("alice", ["admin"])
