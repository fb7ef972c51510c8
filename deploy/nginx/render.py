"""Render deploy/nginx/citycard.conf for one issuer: its paths, cache ages and API processes.

    .venv/bin/python deploy/nginx/render.py --dir /srv/citycard/issuer \\
        --upstream 127.0.0.1:8080 --upstream 127.0.0.1:8081 --listen 80 \\
        --server-name cc.example --out /etc/nginx/conf.d/citycard.conf

The result goes into nginx's http {} context. The Cache-Control ages and the largest request
body come from the issuer's server.toml, so nginx answers as the API would; the phone page's
Content-Security-Policy is api.phone's own (its inline style allowed by hash).

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
_UPSTREAM = re.compile(r"(unix:/\S+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9A-Fa-f:]+\]:\d{1,5})")


class RenderError(ValueError):
    """A value that cannot go into the configuration."""


def render(template: str, values: dict[str, str]) -> str:
    """The template with every @NAME@ replaced; each must have a safe value."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise RenderError(f"no value for {', '.join('@' + m + '@' for m in missing)}")
    for name, value in values.items():
        if name == "UPSTREAM":  # checked by upstream_lines
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


def values_for(
    issuer_dir: Path,
    upstream: list[str] | None = None,
    listen: str = "80",
    server_name: str = "_",
    public_dir: Path | None = None,
    phone_dir: Path | None = None,
) -> dict[str, str]:
    """The placeholders' values for the issuer in `issuer_dir` (its server.toml read)."""
    config = load_config(issuer_dir)
    servers = upstream or [f"{config.host}:{config.port}"]
    return {
        "UPSTREAM": upstream_lines(servers),
        "LISTEN": listen,
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
    parser.add_argument("--listen", default="80", help="nginx's listen parameters (default 80)")
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
