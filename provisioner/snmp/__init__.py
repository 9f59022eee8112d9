"""The SNMP front door (pysnmp 7, asyncio): the domain sees readings, never pysnmp objects."""
