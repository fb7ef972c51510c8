"""`citycard-api`: the city's issuer service with the phone pages it hosts.

The issuer (api.issuer) and the phone pages (api.phone) are separate deployables that do not
import each other; this module is where the command line puts them together, so that
`citycard-api serve` also serves the verification page at /verify/ and the holder's wallet
page at /wallet/.
"""

from __future__ import annotations


def main() -> None:
    from api.issuer.cli import main as issuer_main
    from api.phone import blueprint
    from api.phone.wallet import blueprint as wallet_blueprint

    issuer_main(obj={"pages": [blueprint(), wallet_blueprint()]})
