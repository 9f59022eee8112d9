"""The SIP client side: just enough SIP over UDP to send one request and read its answer.

The provisioner talks SIP for one reason: the resync NOTIFY a device answers by fetching its
file again. This package builds and parses the messages (``message``), answers a Digest
challenge (``digest``), runs a non-INVITE client transaction over UDP (``transaction``) and
puts them together for the NOTIFY (``notify``). It is the only place with SIP sockets; the
domain calls it through :data:`provisioner.domain.delivery.resync.Notifier`.
"""
