"""What the tests share: ports, waits, data paths, the running server, and the harnesses for SIP,
SNMP, network namespaces and the PBX core. Test modules import from here, never from each other's
conftest."""
