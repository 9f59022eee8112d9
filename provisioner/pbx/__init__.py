"""The shared PBX core (Kamailio registrar/proxy): its configuration and its tables."""
