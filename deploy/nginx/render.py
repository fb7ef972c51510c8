"""Render deploy/nginx/citycard.conf for one issuer: its paths, cache ages and API processes.

    .venv/bin/python deploy/nginx/render.py --dir /srv/citycard/issuer \\
        --upstream 127.0.0.1:8080 --upstream 127.0.0.1:8081 --server-name cc.example \\
        --tls-cert /etc/ssl/citycard/fullchain.pem --tls-key /etc/ssl/private/citycard.key \\
        --out /etc/nginx/conf.d/citycard.conf

The result goes into nginx's http {} context. The Cache-Control ages and the largest request
body come from the issuer's server.toml, so nginx answers as the API would; the phone page's
Content-Security-Policy is api.phone's own (its inline style allowed by hash). With
--tls-cert/--tls-key the site listens with TLS (443 unless --listen says otherwise) and a
second server block sends plain HTTP (--http-listen, default 80) there: the certificate lines
are part of the rendered file, so rendering again keeps them.

`--standalone PREFIX` writes a whole nginx.conf instead, for a foreground nginx on an
unprivileged port with everything under PREFIX (tests/test_nginx.py, bench/api.py, trying it
out): `nginx -p PREFIX -e PREFIX/error.log -c PREFIX/nginx.conf`.

This script composes the issuer and the phone page (like api/cli.py), so it lives outside
both packages.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.issuer.routes_wallet import MAX_UPLOAD
from api.issuer.server import load_config
from api.phone import PAGE_DIR, content_security_policy
from cardio.errors import CitycardError
from cardio.published import published_dir

TEMPLATE = Path(__file__).resolve().with_name("citycard.conf")
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
# A value may not end a directive, open a block, end a string, name a variable ($) or start a
# new line; one inside a quoted string may hold ";" (the policy does).
_UNSAFE = re.compile(r'[;{}"\'\\$#\n\r]')
_UNSAFE_QUOTED = re.compile(r'["\\$\n\r]')
_QUOTED = {"PHONE_CSP"}
_PATHS = {"PUBLIC_DIR", "PHONE_DIR"}
# Built here from values checked one by one (each may hold ";" or "$" of its own).
_BUILT = {"UPSTREAM", "TLS", "REDIRECT_SERVER", "ACCESS_LOG"}
DEFAULT_ACCESS_LOG = "/var/log/nginx/citycard-access.log"
_UPSTREAM = re.compile(r"(unix:/\S+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9A-Fa-f:]+\]:\d{1,5})")


class RenderError(ValueError):
    """A value that cannot go into the configuration."""


def render(template: str, values: dict[str, str]) -> str:
    """The template with every @NAME@ replaced; each must have a safe value."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise RenderError(f"no value for {', '.join('@' + m + '@' for m in missing)}")
    for name, value in values.items():
        if name in _BUILT:  # checked part by part where they are built
            continue
        unsafe = _UNSAFE_QUOTED if name in _QUOTED else _UNSAFE
        if unsafe.search(value) or (name in _PATHS and re.search(r"\s", value)):
            raise RenderError(f"@{name}@ = {value!r} holds a character nginx would misread")
    return _PLACEHOLDER.sub(lambda m: values[m[1]], template)


def upstream_lines(servers: list[str]) -> str:
    """`server host:port;` lines for the upstream block (at least one)."""
    if not servers:
        raise RenderError("give at least one issuer API process (--upstream HOST:PORT)")
    for server in servers:
        if not _UPSTREAM.fullmatch(server):
            raise RenderError(f"--upstream {server!r} is not HOST:PORT or unix:/PATH")
    return "\n".join(f"    server {s};" for s in servers)


def _path(option: str, path: Path) -> str:
    """An absolute path nginx reads as one word."""
    text = str(path.resolve())
    if _UNSAFE.search(text) or re.search(r"\s", text):
        raise RenderError(f"{option} {text!r} holds a character nginx would misread")
    return text


def access_log(path: Path | None) -> str:
    """The access_log parameters: a file in the `citycard` format (no address, no query
    string; buffered), or `off` for no access log."""
    if path is not None and str(path) == "off":
        return "off"
    target = _path("--access-log", path or Path(DEFAULT_ACCESS_LOG))
    # if=: nothing for the paths that name a card or a pickup, whichever location answers
    return f"{target} citycard buffer=32k flush=5s if=$citycard_logged"


def _port(listen: str) -> int | None:
    """The port of nginx listen parameters ("443 ssl", "127.0.0.1:8443 ssl", "[::]:443")."""
    address = listen.split()[0] if listen.split() else ""
    tail = address.rsplit(":", 1)[-1] if ":" in address.rsplit("]", 1)[-1] else address
    return int(tail) if tail.isdigit() else None


def tls_values(
    tls_cert: Path | None,
    tls_key: Path | None,
    listen: str | None,
    http_listen: str,
    server_name: str,
    log: str,
) -> tuple[str, str, str]:
    """(listen parameters, certificate lines, plain-HTTP redirect server block); the server
    name is checked with the other values by `render`."""
    if (tls_cert is None) != (tls_key is None):
        raise RenderError("give both --tls-cert and --tls-key (or neither, for plain HTTP)")
    if tls_cert is None or tls_key is None:
        return listen or "80", "", ""
    listen = listen or "443 ssl"
    if "ssl" not in listen.split():
        listen += " ssl"
    if _UNSAFE.search(http_listen):
        raise RenderError(f"--http-listen {http_listen!r} holds a character nginx would misread")
    port = _port(listen)
    target = "https://$host" + ("" if port in (None, 443) else f":{port}")
    lines = (
        f"    ssl_certificate {_path('--tls-cert', tls_cert)};\n"
        f"    ssl_certificate_key {_path('--tls-key', tls_key)};\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        "    ssl_session_cache shared:citycard_tls:10m;"
    )
    redirect = (
        "# Plain HTTP: sent to HTTPS (the desk's and the lost page's cookies are __Host-, Secure).\n"
        "server {\n"
        f"    listen {http_listen};\n"
        f"    server_name {server_name};\n"
        "    server_tokens off;\n"
        f"    access_log {log};\n"
        f"    return 301 {target}$request_uri;\n"
        "}\n"
    )
    return listen, lines, redirect


def values_for(
    issuer_dir: Path,
    upstream: list[str] | None = None,
    listen: str | None = None,
    server_name: str = "_",
    public_dir: Path | None = None,
    phone_dir: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    http_listen: str = "80",
    access_log_path: Path | None = None,
) -> dict[str, str]:
    """The placeholders' values for the issuer in `issuer_dir` (its server.toml read)."""
    config = load_config(issuer_dir)
    servers = upstream or [f"{config.host}:{config.port}"]
    log = access_log(access_log_path)
    listen, tls, redirect = tls_values(tls_cert, tls_key, listen, http_listen, server_name, log)
    return {
        "UPSTREAM": upstream_lines(servers),
        "LISTEN": listen,
        "TLS": tls,
        "REDIRECT_SERVER": redirect,
        "ACCESS_LOG": log,
        "SERVER_NAME": server_name,
        "MAX_BODY": str(config.max_body),
        "PAGE_MAX_BODY": str(2 * config.max_body),
        "PICKUP_MAX_BODY": str(max(config.max_body, MAX_UPLOAD)),
        "PUBLIC_DIR": str((public_dir or published_dir(issuer_dir)).resolve()),
        "PHONE_DIR": str((phone_dir or PAGE_DIR).resolve()),
        "PHONE_CSP": content_security_policy(),
        "TRUST_MAX_AGE": str(config.trust_list_max_age),
        "STATUS_MAX_AGE": str(config.status_list_max_age),
        "ROOT_KEY_MAX_AGE": str(config.root_key_max_age),
    }


def standalone(site: str, prefix: Path) -> str:
    """A whole nginx.conf around `site`: foreground, every file under `prefix`.

    Workers run as the invoking user (root included, so that they can read a private
    temporary directory): for development, tests and benchmarks, never for production.
    """
    tmp = prefix / "tmp"
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
user {getpass.getuser()};
worker_processes auto;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
{temp_paths}

{site}
}}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the issuer directory")
    parser.add_argument(
        "--upstream",
        action="append",
        help="an issuer API process, HOST:PORT or unix:/PATH (repeat; default: server.toml's)",
    )
    parser.add_argument(
        "--listen", help="nginx's listen parameters (default 80, or 443 ssl with --tls-cert)"
    )
    parser.add_argument("--tls-cert", type=Path, help="the certificate chain (PEM) for TLS")
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    parser.add_argument(
        "--http-listen",
        default="80",
        help="with TLS: where plain HTTP is answered with a redirect to HTTPS (default 80)",
    )
    parser.add_argument(
        "--access-log",
        type=Path,
        help=f"the access log file, or off (default {DEFAULT_ACCESS_LOG}; PREFIX/access.log "
        "with --standalone)",
    )
    parser.add_argument("--server-name", default="_", help="the public host name (default _)")
    parser.add_argument(
        "--public-dir", type=Path, help="where nginx reads the published files (default DIR/public)"
    )
    parser.add_argument(
        "--phone-dir", type=Path, help="a copy of api/phone/static (default: the installed one)"
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--standalone", type=Path, metavar="PREFIX", help="a whole nginx.conf")
    parser.add_argument("--out", type=Path, help="the file to write (default: standard output)")
    args = parser.parse_args(argv)
    if args.standalone and args.access_log is None:
        args.access_log = args.standalone.resolve() / "access.log"
    try:
        site = render(
            args.template.read_text("utf-8"),
            values_for(
                args.dir,
                args.upstream,
                args.listen,
                args.server_name,
                args.public_dir,
                args.phone_dir,
                args.tls_cert,
                args.tls_key,
                args.http_listen,
                args.access_log,
            ),
        )
    except (RenderError, CitycardError) as exc:
        raise SystemExit(f"render.py: {exc}") from exc
    text = site
    if args.standalone:
        prefix = args.standalone.resolve()
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)  # nginx creates no parents
        text = standalone(site, prefix)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
