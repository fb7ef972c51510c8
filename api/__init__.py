"""The city's issuer service and the partner reader terminal's verifier.

It owns the issuer: its directory of keys and registry (document numbers, status indices and
statuses, never personal data), the published trust list and status lists, and the
`citycard-api` and `citycard-reader` command lines; later the Flask services that publish,
allocate and revoke, and the reader terminal's offline verifier with its staff screen.
"""
