"""The services, one subpackage per deployable.

- `api.issuer`: the city's issuer (keys, registry, published files, the issuer API).
- `api.terminal`: a partner venue's reader terminal (offline verifier, staff screen).
- `api.phone`: the phone pages (static files any host can serve).

No subpackage imports another; `api.cli` composes the issuer with the phone pages for the
`citycard-api` command (docs/architecture.md).
"""
