"""The city's issuer: keys, the card registry (no personal data), published trust and status
lists, and the issuer API (`citycard-api`). Deployed on the city's servers."""

from .service import Issuer

__all__ = ["Issuer"]
