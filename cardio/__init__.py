"""Card I/O: everything that is on a citycard and how it gets on and off.

This package owns the signed credential (a CWT in a tagged COSE_Sign1, ES256), its QR text
form, the keys that sign it (file and PKCS#11 stores), the trust list and the Token Status
List formats, and offline verification that turns any byte string into a typed verdict.
Later it also owns APDUs, the NFC Type 4 NDEF application and the PC/SC and nfcpy backends.
"""
