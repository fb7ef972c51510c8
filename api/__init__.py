"""The city's issuer service and the partner reader terminal's verifier.

It owns the issuer: its directory of keys and registry (document numbers, status indices and
statuses, never personal data), the published trust list and status lists, and the
`citycard-api` and `citycard-reader` command lines; the issuer API that publishes, allocates
and revokes (api.server, docs/api.md); and the reader terminal's offline verifier with its
staff screen.
"""
