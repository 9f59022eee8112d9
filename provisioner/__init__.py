"""Zero-touch provisioning for Grandstream and Panasonic SIP devices."""
