"""The domain: inventory, the provisioning sheet, the timeline and config delivery.

Nothing here imports Flask, a TFTP codec or a socket: the front doors call into it.
"""
