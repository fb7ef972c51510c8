"""Technician tools (`citycard-provision`).

They own what a technician does on site: inventory of attached readers and printers, reader
and kiosk set-up, kiosk key enrolment, pinning the city root key after the technician confirms
its fingerprint, signed firmware over USB DFU, self-tests and the provisioning log.
"""
