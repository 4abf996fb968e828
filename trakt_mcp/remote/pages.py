"""The few pages a person sees in their browser: sign-in and errors. Small, server-rendered, no external assets
(a strict Content-Security-Policy says so), usable by keyboard, light and dark."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

__all__ = [
    "CSP",
    "csp_source",
    "enter_code",
    "error",
    "escape",
    "page",
    "sign_in",
    "sign_in_needed",
    "sign_in_with_code",
]

STYLE = """
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fafafa; --accent: #b3001b; --on-accent: #fff;
  --muted: #5c5c66; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #ececf1; --bg: #17171a; --accent: #ff5a6e; --on-accent: #17171a; --muted: #a4a4b0; } }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 40rem; margin: 4rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.4rem; } p.muted { color: var(--muted); }
a.button, button { display: inline-block; font: inherit; padding: .6rem 1.2rem; border-radius: .4rem;
  border: 2px solid var(--accent); background: var(--accent); color: var(--on-accent); text-decoration: none;
  cursor: pointer; }
button.secondary { background: transparent; color: var(--fg); }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--fg); outline-offset: 2px; }
a { color: var(--accent); }
code { overflow-wrap: anywhere; }
fieldset { border: 1px solid var(--muted); border-radius: .4rem; padding: .75rem 1rem; margin: 1rem 0; }
legend { font-weight: 600; padding: 0 .3rem; }
label.choice { display: flex; gap: .6rem; align-items: baseline; padding: .3rem 0; cursor: pointer; }
input[type=checkbox] { width: 1.1rem; height: 1.1rem; accent-color: var(--accent); }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--muted); vertical-align: top; }
section { margin: 2rem 0; } form.inline { display: inline; }
"""
#: Nothing but this page's own inline style may load; forms post only here; no framing.
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def page(title: str, body: str, status: int = 200, form_to: str | None = None) -> HTMLResponse:
    """A page under the strict CSP. `form_to`: one more origin its forms may end at (the consent form's redirect to
    the app: browsers apply `form-action` to where a form's answer redirects, too)."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · trakt-mcp</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    headers = {
        "Content-Security-Policy": CSP.replace("form-action 'self'", f"form-action 'self' {form_to}")
        if form_to
        else CSP,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        # Other sites never learn a page's address; this server's own forms keep their Origin (no-referrer would
        # make a browser send `Origin: null` on them, and posts are checked for it).
        "Referrer-Policy": "same-origin",
    }
    return HTMLResponse(html, status_code=status, headers=headers)


def sign_in_needed(title: str, heading: str, sign_in: str, back: str, status: int = 200) -> HTMLResponse:
    """A person's own page (account, approvals) opened without a browser session: a sign-in link that comes back
    to `back`, and nothing of anyone's."""
    return page(
        title,
        f"<h1>{escape(heading)}</h1><p>You are not signed in to this server on this browser.</p>"
        f'<p><a class="button" id="sign-in" href="{escape(sign_in)}?next={escape(back)}">Sign in with Trakt</a></p>',
        status,
    )


def csp_source(url: str) -> str | None:
    """The CSP source expression of a redirect URI's origin (`https://host:port`, or `scheme:` for an app's own
    scheme); None when it cannot be one safely."""
    parts = urlsplit(url)
    if not parts.scheme or any(ch in url for ch in " ;,'\"\n"):
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else f"{parts.scheme}:"


def sign_in(client_name: str, redirect_host: str, trakt_url: str) -> HTMLResponse:
    return page(
        "Sign in with Trakt",
        f"<h1>Connect {escape(client_name)} to your Trakt account</h1>"
        f"<p>{escape(client_name)} (returning to <code>{escape(redirect_host)}</code>) asks to use this Trakt server "
        "for you. Sign in with your own Trakt account; your Trakt password and tokens never reach the app.</p>"
        f'<p><a class="button" id="trakt-sign-in" href="{escape(trakt_url)}" autofocus>Sign in with Trakt</a></p>'
        '<p class="muted">The server\'s operator decides which actions need approval; every call is recorded '
        "under your Trakt username.</p>",
    )


def sign_in_with_code(client_name: str, redirect_host: str, state: str) -> HTMLResponse:
    """For a Trakt app with only the out-of-band redirect: the device flow, a code to enter at Trakt."""
    return page(
        "Sign in with Trakt",
        f"<h1>Connect {escape(client_name)} to your Trakt account</h1>"
        f"<p>{escape(client_name)} (returning to <code>{escape(redirect_host)}</code>) asks to use this Trakt server "
        "for you. Get a code, enter it at Trakt while signed in with your own account, then come back here.</p>"
        f'<form method="post" action="/oauth/trakt/device"><input type="hidden" name="state" value="{escape(state)}">'
        '<button id="trakt-get-code" autofocus>Get a Trakt code</button></form>',
    )


def enter_code(user_code: str, verification_url: str, state: str, waiting: bool) -> HTMLResponse:
    note = '<p class="muted" id="not-yet">Trakt has not seen the code yet.</p>' if waiting else ""
    return page(
        "Enter your code at Trakt",
        f'<h1>Your code: <code id="user-code">{escape(user_code)}</code></h1>'
        f'<p>Open <a href="{escape(verification_url)}" target="_blank" rel="noopener">{escape(verification_url)}</a>, '
        "sign in with your own Trakt account and enter the code. Then continue here.</p>"
        f'{note}<form method="post" action="/oauth/trakt/device"><input type="hidden" name="state" '
        f'value="{escape(state)}"><button id="trakt-continue" autofocus>I entered the code: continue</button></form>',
    )


def error(title: str, detail: str, status: int = 400) -> HTMLResponse:
    return page(
        title,
        f'<h1>{escape(title)}</h1><p id="detail">{escape(detail)}</p>'
        '<p class="muted">Nothing was connected. Start again from your app.</p>',
        status,
    )
