"""Who may see and change which image: the caller, and the rules of ownership and visibility.

Without sign-in (AUTH none or api-key) every caller is ANYONE, who may do
everything, as the service always allowed. Signed in (AUTH jwt), an image
belongs to the user who uploaded it: only its owner or an admin may change
or delete it, and with VISIBILITY=private only they see it (to anyone else it
does not exist: 404, so that its existence does not leak).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.records import ImageRow
from app.settings import get_settings


@dataclass(frozen=True)
class Caller:
    user: str | None  # None: nobody signed in
    admin: bool = False

    @property
    def signed_in(self) -> bool:
        return self.user is not None


ANYONE = Caller(user=None)  # no sign-in: the service's rules as they always were


def uploader(caller: Caller, claimed: str | None, field: str = "user") -> str:
    """Whose an upload is: the signed-in user (a different `claimed` one is refused), else `claimed`."""
    if caller.signed_in:
        if claimed is not None and claimed != caller.user:
            raise ForbiddenError(f"{field} must be the signed-in user ({caller.user}) or left out", "USER_MISMATCH")
        return str(caller.user)
    if claimed is None:
        raise InvalidInputError(f"{field}: Field required", "MISSING_FIELD")
    return claimed


def sees(caller: Caller, row: ImageRow) -> bool:
    return not _private_to(caller) or row.get("user") == caller.user


def check_visible(caller: Caller, row: ImageRow) -> None:
    if not sees(caller, row):
        raise NotFoundError()


def check_change(caller: Caller, row: ImageRow) -> None:
    """Only its owner or an admin may change or delete a signed-in service's image."""
    check_visible(caller, row)
    if caller.signed_in and not caller.admin and row.get("user") != caller.user:
        raise ForbiddenError("only the image's owner or an admin may change it", "NOT_OWNER")


def listed_user(caller: Caller, wanted: str | None, mine: bool = False) -> tuple[str | None, bool]:
    """(the user a listing is narrowed to, whether it may show anything) for what the caller asked."""
    if mine:
        if not caller.signed_in:
            raise InvalidInputError("mine: only a signed-in caller has images of their own", "INVALID_PARAMETER")
        if wanted is not None and wanted != caller.user:
            return wanted, False
        wanted = caller.user
    if not _private_to(caller):
        return wanted, True
    if wanted is None:  # private: a user's listing is their own images
        return caller.user, True
    return wanted, wanted == caller.user


def _private_to(caller: Caller) -> bool:
    return caller.signed_in and not caller.admin and get_settings().visibility == "private"
