"""A token issuer for development: signs the tokens AUTH=jwt accepts on the local server and LocalStack.

Neither has an OpenID Connect issuer (LocalStack's free edition has no
Cognito), so this machine is one: an RSA key made on first use in
build/dev-issuer.pem (readable only by you, never committed), whose public
half deploy.sh and the local server hand the function as JWT_JWKS. The tokens
look like Cognito's ID tokens (`cognito:username`, `cognito:groups`), so the
same code checks both; the function refuses this issuer on AWS.

    python -m deploy.dev_issuer token alice [--admin] [--minutes 60]   # the token, and nothing else
    python -m deploy.dev_issuer env                                      # AUTH's variables, for deploy.sh
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from app.settings import DEV_AUDIENCE, DEV_ISSUER, get_settings

KEY_FILE = Path(__file__).parents[1] / "build" / "dev-issuer.pem"


def private_key() -> Any:
    """The issuer's key, made on first use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not KEY_FILE.exists():
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        temporary = KEY_FILE.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        try:  # whoever links first made the key; a process racing us (make dev, make token) reads theirs
            os.link(temporary, KEY_FILE)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)


def key_id() -> str:
    """Named after the public key, so that a new key is a new kid."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    public = (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return hashlib.sha256(public).hexdigest()[:16]


def jwks() -> str:
    """The public half, as the JWKS the function reads from JWT_JWKS."""
    from jwt.algorithms import RSAAlgorithm

    public = json.loads(RSAAlgorithm.to_jwk(private_key().public_key()))
    return json.dumps({"keys": [{**public, "kid": key_id(), "use": "sig", "alg": "RS256"}]}, separators=(",", ":"))


def claims(user: str, admin: bool = False, minutes: int = 60, **changes: Any) -> dict[str, Any]:
    settings = get_settings()
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{DEV_ISSUER}/{user}")),
        "token_use": "id",
        settings.jwt_user_claim: user,
        settings.jwt_admin_claim: ["admin"] if admin else [],
        "iat": now,
        "nbf": now,
        "exp": now + minutes * 60,
        **changes,
    }


def token(user: str, admin: bool = False, minutes: int = 60, **changes: Any) -> str:
    """A token the dev issuer signs; `changes` overrides claims (tests make bad tokens with it)."""
    import jwt

    return jwt.encode(claims(user, admin, minutes, **changes), private_key(), "RS256", headers={"kid": key_id()})


def function_env() -> dict[str, str]:
    """What the function needs to accept the dev issuer's tokens."""
    return {"JWT_ISSUER": DEV_ISSUER, "JWT_AUDIENCE": DEV_AUDIENCE, "JWT_JWKS": jwks()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.dev_issuer")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("token", help="print a token for USER")
    make.add_argument("user")
    make.add_argument("--admin", action="store_true")
    make.add_argument("--minutes", type=int, default=60)
    commands.add_parser("env", help="the function's variables for the dev issuer, as shell assignments")
    args = parser.parse_args(argv)
    if args.command == "token":
        signed = token(args.user, args.admin, args.minutes)
        print(signed)
        if sys.stdout.isatty():  # typed at a terminal, not captured by $(make -s token ...)
            print(f"# the gallery, signed in as {args.user}: <base URL>/#token=<this token>", file=sys.stderr)
    else:
        print("\n".join(f"{name}={shlex.quote(value)}" for name, value in function_env().items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
