"""The unsubscribe link of every e-mail (List-Unsubscribe, RFC 8058): a GET shows a
page with a button (link scanners follow GETs, so a GET changes nothing), a POST (the
button, or the mail client's one-click ``List-Unsubscribe=One-Click``) unsubscribes."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from loyalty_gql.db.engine import Database
from loyalty_gql.domain.channels import read_unsubscribe_token
from loyalty_gql.services import channels
from loyalty_gql.services.core.common import Clock

PATH = "/unsubscribe/{token}"

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
</head><body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response:
    html = _PAGE.format(title=escape(title), body=body)
    return HTMLResponse(html, status, headers={"cache-control": "no-store"})


def unsubscribe_route(db: Database, *, secret: bytes, clock: Clock) -> Route:
    """The route that answers the links signed with ``secret``."""

    async def answer(request: Request) -> Response:
        token = str(request.path_params["token"])
        if request.method == "GET":
            if read_unsubscribe_token(secret, token) is None:
                return _page("Link not recognised", "<p>This link is not valid.</p>", 404)
            form = (
                f'<form method="post" action="{escape(request.url.path)}">'
                '<button type="submit">Unsubscribe</button></form>'
            )
            return _page("Unsubscribe", f"<p>Stop these e-mails?</p>{form}")
        done = await channels.unsubscribe(db, secret=secret, token=token, clock=clock)
        if not done:
            return _page("Link not recognised", "<p>This link is not valid.</p>", 404)
        return _page("Unsubscribed", "<p>You will not get these e-mails any more.</p>")

    return Route(PATH, answer, methods=["GET", "POST"])
