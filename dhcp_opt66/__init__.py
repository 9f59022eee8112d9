"""The LAN side of provisioning: the warehouse bench's DHCP and DNS (dnsmasq, supervised), the
customer-LAN probe, DHCP snippets for customers' servers and the SIP plug-and-play answer.

It talks to the provisioner only over HTTP (the lease-event API), never through its modules.
"""
