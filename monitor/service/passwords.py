"""Password hashes for users: Argon2id with argon2-cffi's default parameters (RFC 9106's second
recommended choice: 64 MiB, 3 passes, 4 lanes), checked in constant time by the library."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from monitor.errors import UserError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_password",
    "hash_password",
    "password_matches",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # ASVS 5 6.2.9 asks that at least 64 be allowed; the cap bounds hashing work
_HASHER = PasswordHasher()


def check_password(password: str) -> str:
    """`password` when its length is allowed. Raises UserError `invalid_value` (field `password`)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise UserError(
            "invalid_value",
            f"the password has {len(password)} characters; use {MIN_PASSWORD_LENGTH} to "
            f"{MAX_PASSWORD_LENGTH} (a passphrase of a few words is easy to type and hard to guess)",
            field="password",
        )
    return password


def hash_password(password: str) -> str:
    """The Argon2id hash to store for `password` (checked by `check_password` first)."""
    return _HASHER.hash(check_password(password))


def password_matches(password_hash: str, password: str) -> bool:
    """True when `password` is the one `password_hash` was made from."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
