"""Printing: ESC/POS receipts, the CR80 card layout and card printers.

It owns receipt rendering through python-escpos (USB, serial, network and file printers),
printer status, the front and back of the card at 300 dpi, and card printers over IPP or
with an encoding station.
"""
