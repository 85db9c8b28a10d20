"""Users: list, add, change role and wards, disable or enable, reset a password."""

from __future__ import annotations

from typing import Any

from litestar import Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from crm.errors import MailbagError, NotFound
from crm.users import service as users
from crm.users.models import ROLES, User
from web.manage.common import actor, lines, private_page
from web.pages import AnyRequest, Form, back, flash, page, services

HOME = "/manage/users"
ROLE_NAMES = {role: role.replace("_", " ").capitalize() for role in ROLES}


@get("/", sync_to_thread=True)
def user_list(request: AnyRequest) -> Template:
    return _list(request)


@post("/", sync_to_thread=True)
def user_add(request: AnyRequest, data: Form) -> Template | Redirect:
    """A new account; a generated password is shown on this one response and nowhere else."""
    try:
        with services(request).database.session() as session:
            added = users.add_user(
                session,
                data.get("email", ""),
                role=data.get("role", ""),
                name=data.get("name", ""),
                wards=lines(data.get("wards", "")),
                password=data.get("password", ""),
                by=actor(request),
            )
            email = added.user.email
    except MailbagError as error:
        return _list(request, 400, error=str(error), form=data)
    if added.generated:
        return private_page(
            request, "manage/password_shown.html", email=email, password=added.generated
        )
    flash(request, f"{email} can now sign in with the password you chose.")
    return back(HOME)


@get("/{user_id:int}", sync_to_thread=True)
def user_page(request: AnyRequest, user_id: FromPath[int]) -> Template:
    return _user(request, user_id)


@post("/{user_id:int}/permissions", sync_to_thread=True)
def user_permissions(
    request: AnyRequest, user_id: FromPath[int], data: Form
) -> Template | Redirect:
    try:
        with services(request).database.session() as session:
            users.change_permissions(
                session,
                user_id,
                role=data.get("role", ""),
                wards=lines(data.get("wards", "")),
                by=actor(request),
            )
    except NotFound:
        raise NotFoundException("no such user") from None
    except MailbagError as error:
        return _user(request, user_id, 400, error=str(error))
    flash(request, "Role and wards saved.")
    return back(f"{HOME}/{user_id}")


@post("/{user_id:int}/active", sync_to_thread=True)
def user_active(request: AnyRequest, user_id: FromPath[int], data: Form) -> Template | Redirect:
    active = data.get("active") == "1"
    try:
        with services(request).database.session() as session:
            users.set_active(session, user_id, active, by=actor(request))
    except NotFound:
        raise NotFoundException("no such user") from None
    except MailbagError as error:
        return _user(request, user_id, 400, error=str(error))
    flash(request, "Account enabled." if active else "Account disabled: its sessions have ended.")
    return back(f"{HOME}/{user_id}")


@post("/{user_id:int}/password", sync_to_thread=True)
def user_password(request: AnyRequest, user_id: FromPath[int], data: Form) -> Template | Redirect:
    try:
        with services(request).database.session() as session:
            reset = users.reset_password(
                session, user_id, data.get("password", ""), by=actor(request)
            )
            email = reset.user.email
    except NotFound:
        raise NotFoundException("no such user") from None
    except MailbagError as error:
        return _user(request, user_id, 400, error=str(error))
    if reset.generated:
        return private_page(
            request, "manage/password_shown.html", email=email, password=reset.generated
        )
    flash(request, f"Password changed: {email} is signed out everywhere.")
    return back(f"{HOME}/{user_id}")


def _list(request: AnyRequest, status_code: int = 200, **context: Any) -> Template:
    with services(request).database.session() as session:
        people = [_row(user) for user in users.everyone(session)]
    return page(
        request,
        "manage/users.html",
        status_code,
        people=people,
        roles=ROLE_NAMES,
        minimum=users.MIN_PASSWORD,
        **{"error": "", "form": {}, **context},
    )


def _user(request: AnyRequest, user_id: int, status_code: int = 200, **context: Any) -> Template:
    try:
        with services(request).database.session() as session:
            person = _row(users.get_user(session, user_id))
    except NotFound:
        raise NotFoundException("no such user") from None
    return page(
        request,
        "manage/user.html",
        status_code,
        person=person,
        roles=ROLE_NAMES,
        minimum=users.MIN_PASSWORD,
        is_me=person["id"] == request.user.id,
        **{"error": "", **context},
    )


def _row(user: User) -> dict[str, Any]:
    """A plain value for the template, read while the session is open."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "wards": ", ".join(user.wards or ()),
        "active": user.active,
        "created_at": user.created_at,
    }


router = Router(
    path="/users",
    route_handlers=[user_list, user_add, user_page, user_permissions, user_active, user_password],
)
