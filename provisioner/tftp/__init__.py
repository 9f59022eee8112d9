"""Read-only TFTP front door: serves files rendered on demand by a resolver callback."""

from provisioner.tftp.server import (
    Resolver,
    TftpAccessDenied,
    TftpServer,
    TftpThread,
    serve_in_thread,
)

__all__ = ["Resolver", "TftpAccessDenied", "TftpServer", "TftpThread", "serve_in_thread"]
