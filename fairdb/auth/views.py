"""Routes of the auth blueprint: register, sign in, sign out, and the account page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from fairdb.auth.forms import CreateTokenForm, LoginForm, RegisterForm, RevokeTokenForm
from fairdb.extensions import db, limiter, login_manager
from fairdb.models import User
from fairdb.services import access, accounts, tokens

bp = Blueprint("auth", __name__, url_prefix="/auth")


def safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash trick."""
    fallback = url_for("main.index")
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    return target


@login_manager.user_loader
def load_user(token_id: str) -> User | None:
    max_age = timedelta(seconds=int(current_app.config["PERMANENT_SESSION_LIFETIME"]))
    user = accounts.load_session(token_id, max_age=max_age)
    if db.session.dirty or db.session.deleted:
        db.session.commit()
    return user


def _account_key() -> str:
    return "login-account:" + accounts.normalise_email(request.form.get("email", ""))


def _failed(response: object) -> bool:
    return getattr(response, "status_code", 0) == 401


def _start_session(user: User) -> None:
    # A fresh session on every sign-in: nothing from before (a planted cookie) carries over.
    session.clear()
    accounts.open_session(
        user,
        ip_address=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
    )
    session.permanent = True
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@access.open_route
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            _start_session(user)
            db.session.commit()
            flash(f"Signed in as {user.display_name}.", "success")
            return redirect(safe_next(request.args.get("next")))
        form.password.errors = ["The email address or the password is wrong."]
        return render_template("auth/login.html", form=form), 401
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/register", methods=["GET", "POST"])
@access.open_route
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or "",
            )
        except accounts.AccountError as error:
            form.email.errors = [str(error) + " Sign in instead, or use another address."]
        else:
            _start_session(user)
            db.session.commit()
            flash(f"Welcome, {user.display_name}. Your account is ready.", "success")
            return redirect(url_for("main.index"))
    status = 400 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/logout", methods=["POST"])
@access.signed_in_route
def logout() -> ResponseReturnValue:
    token = current_user.get_id()
    accounts.close_session(token)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("main.index"))


def _account_page(
    form: CreateTokenForm | None = None, *, new_token: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template(
        "auth/account.html",
        form=form or CreateTokenForm(formdata=None),
        tokens=tokens.list_tokens(current_user),
        new_token=new_token,
    )
    # The page may hold a token shown once: neither a cache nor the back button may keep it.
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/account", methods=["GET", "POST"])
@access.signed_in_route
def account() -> ResponseReturnValue:
    """The user's API tokens; a POST creates one and shows it in this response only."""
    form = CreateTokenForm()
    if not form.validate_on_submit():
        return _account_page(form, status=400 if form.errors else 200)
    try:
        _, plaintext = tokens.create_token(
            current_user, form.name.data or "", can_write=bool(form.can_write.data)
        )
    except tokens.TokenError as error:
        form.name.errors = [str(error)]
        return _account_page(form, status=400)
    db.session.commit()
    # Rendered rather than redirected: the plaintext never goes into the session cookie.
    return _account_page(new_token=plaintext)


@bp.route("/account/revoke", methods=["POST"])
@access.signed_in_route
def revoke_token() -> ResponseReturnValue:
    form = RevokeTokenForm()
    if not form.validate_on_submit() or form.token_id.data is None:
        abort(400)
    token = tokens.revoke_token(current_user, form.token_id.data)
    if token is None:
        abort(404)
    db.session.commit()
    flash(f"The token {token.name!r} is revoked: it no longer works.", "success")
    return redirect(url_for("auth.account"), code=303)
