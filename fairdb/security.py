"""The security baseline every response carries, and the proxy and cookie settings behind nginx."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SchemeAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure when the request came over HTTPS (or config forces it)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        forced = app.config.get("SECURE_COOKIES")
        if forced is not None:
            return bool(forced)
        return request.is_secure


def init_app(app: Flask) -> None:
    """Trust the configured number of proxies, and add the baseline headers to every response."""
    proxies = int(app.config.get("PROXY_COUNT", 0))
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    app.session_interface = SchemeAwareSessionInterface()
    hsts = int(app.config["HSTS_SECONDS"])

    @app.before_request
    def refuse_nul_characters() -> None:
        """PostgreSQL text cannot hold U+0000: refuse it in URL parameters and form fields up
        front (400 naming the parameter) rather than failing deep in a query."""
        sources = [request.args]
        if request.mimetype == "application/x-www-form-urlencoded":
            sources.append(request.form)
        for source in sources:
            for name, value in source.items(multi=True):
                if "\x00" in name or "\x00" in value:
                    abort(400, description=f"{name!r}: text may not contain the NUL character.")

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure and hsts:
            response.headers["Strict-Transport-Security"] = f"max-age={hsts}; includeSubDomains"
        return response
