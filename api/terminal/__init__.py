"""A partner venue's reader terminal: the reader loop, the offline verifier with its staff
screen, trust-list synchronisation and `citycard-reader`. Deployed at libraries, pools and
other partner venues; it imports nothing of the issuer."""
