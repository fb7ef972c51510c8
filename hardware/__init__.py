"""Hardware: device discovery and the simulators that tests and the demo use.

Simulators sit below the real stack (a virtual card behind pcscd's vpcd driver, a target on
nfcpy's UDP radio, a TCP receipt printer, an IPP card printer), so tests and the demo run the
same code paths as real readers and printers.
"""
