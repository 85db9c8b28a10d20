"""`mailbag serve` and `mailbag user add`: the web view and the people who sign in to it."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from litestar import Litestar

from crm.errors import SettingsError
from crm.settings import Settings
from crm.users import service as users
from crm.users.models import ROLES
from inbox.retry import retry
from mailbag import wiring
from mailbag.cli_support import friendly_errors
from mailbag.serving import serve_with_workers
from web.app import create_app


def secret_key(settings: Settings) -> str:
    """MAILBAG_SECRET_KEY, or the embedded office's own (see wiring.with_secret)."""
    settings = wiring.with_secret(settings)
    if not settings.secret_key:
        raise SettingsError("MAILBAG_SECRET_KEY is not set: the web view needs it to sign sessions")
    return settings.secret_key


def web_app(app: wiring.App) -> Litestar:
    """The web view with quarantine retry wired to this process's pipeline."""

    def retry_quarantine(ids: Sequence[int] | None) -> str:
        return retry(app.database, app.pipeline, list(ids) if ids else None).describe()

    return create_app(
        app.settings,
        app.database,
        secret_key=secret_key(app.settings),
        retry_quarantine=retry_quarantine,
    )


def run_server(app: Litestar, host: str, port: int) -> None:
    import uvicorn

    wiring.freeze_start_up()
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes answering requests: one per core uses them all.",
)
@friendly_errors
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web view (pages and JSON API)."""
    app = wiring.build()  # settings and schema checked here, before any worker starts
    secret_key(app.settings)  # and the signing key: workers build their own apps
    click.echo(f"serving the web view on http://{host}:{port}/ (Ctrl-C stops it)")
    if workers == 1:
        run_server(web_app(app), host, port)
    else:
        app.database.dispose()
        serve_with_workers(worker_app, host, port, workers)


def worker_app() -> Litestar:
    """What each of `serve --workers` processes serves (built there, from the settings)."""
    app = web_app(wiring.build())
    wiring.freeze_start_up()
    return app


@click.group("user")
def user() -> None:
    """People who sign in to the web view."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="")
@click.option(
    "--wards", default="", help="Councillors: postcode districts or sectors, e.g. EX4,EX2 9"
)
@friendly_errors
def user_add(email: str, role: str, name: str, wards: str) -> None:
    """Create a user; the password is read from a prompt, or from stdin when piped."""
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    app = wiring.build()
    with app.database.session() as session:
        created = users.create_user(
            session,
            email,
            password,
            role=role,
            name=name,
            wards=[w for w in wards.split(",") if w.strip()],
        )
        click.echo(f"user {created.email} added as {created.role}")
