"""The app wrapped for the internet: every limit checked at start-up (a mistyped rate is one
line, not a failure on the first request), then the middleware stack of http/ in the order
it must run."""
from __future__ import annotations

from assistant.settings import Settings


def check_limits(settings: Settings) -> None:
    """InvalidArgument naming the setting when a rate, a trusted proxy or the replica's
    settings can't be used."""
    from assistant.errors import InvalidArgument
    from assistant.http import proxies
    from assistant.http.counters import checked_storage
    from assistant.http.rate_limits import checked_rate
    from assistant.questionlog.stores import checked_url

    checked_rate("ASSISTANT_RATE_LIMIT", settings.rate_limit)
    checked_rate("ASSISTANT_FEEDBACK_RATE_LIMIT", settings.feedback_rate_limit)
    checked_rate("ASSISTANT_LOGIN_RATE_LIMIT", settings.login_rate_limit)
    checked_storage(settings.rate_limit_storage)
    proxies.checked(settings.trusted_proxies)
    checked_url(settings.question_log_url)  # a question log URL that is neither sqlite nor postgresql
    if settings.replica and settings.watch_corpus:
        raise InvalidArgument("a replica never builds, so it can't watch the corpus: run `assistant watch` "
                              "where the index is written, and start the replica without --watch/ASSISTANT_WATCH")


def harden(app, settings: Settings, logins=None, pages: dict | None = None, counters=None):
    """Wrap the app; the last added runs first. From the outside in: the trusted
    proxies' client address, HEAD answered as GET without the body, refused origins
    said to the owner, CORS (so errors carry it too), security headers, the
    500 net, the owner's login, Gradio's unused routes shut, rate limits, the body cap
    and JSON check, and events that name one of the `pages`' (mount -> Blocks) handlers.
    Every limit counts in `counters` (made from settings.rate_limit_storage when not given)."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Mount

    from assistant.http import proxies
    from assistant.http.counters import Counters
    from assistant.http.error_bodies import CatchAll
    from assistant.http.gradio_routes import GradioEvents, GradioRoutes
    from assistant.http.head_requests import HeadAsGet
    from assistant.http.headers import SecurityHeaders
    from assistant.http.origins import RefusedOrigins
    from assistant.http.owner_login import Logins, OwnerOnly
    from assistant.http.rate_limits import FEEDBACK_PREFIXES, RateLimit
    from assistant.http.request_body import RequestBody

    check_limits(settings)  # here, not when the middleware is built on the first request
    counters = counters or Counters(settings.rate_limit_storage)
    gradio_mounts = ("", "/insights")
    own_routes = [r for r in app.router.routes if not (isinstance(r, Mount) and r.path in gradio_mounts)]
    app.add_middleware(GradioEvents, pages=pages if pages is not None else {})  # the same dict: filled when the pages mount
    app.add_middleware(RequestBody, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, rate=settings.rate_limit, counters=counters)
    app.add_middleware(RateLimit, rate=settings.feedback_rate_limit, prefixes=FEEDBACK_PREFIXES, what="ratings",
                       counters=counters)
    app.add_middleware(GradioRoutes, own_routes=own_routes, mounts=gradio_mounts)
    app.add_middleware(OwnerOnly, prefix="/insights", token=settings.admin_token,
                       logins=logins or Logins(settings.login_rate_limit, counters))
    app.add_middleware(CatchAll)
    app.add_middleware(SecurityHeaders, allowed_origins=settings.allowed_origins)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins), allow_methods=["GET", "POST"],
                       allow_headers=["content-type"], expose_headers=["retry-after"], max_age=600)
    app.add_middleware(RefusedOrigins, allowed=settings.allowed_origins)  # outside CORS: preflights too
    app.add_middleware(HeadAsGet)  # outside the rest: every check sees the GET it stands for
    proxies.trust(app, settings.trusted_proxies)
    return app
