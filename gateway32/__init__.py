"""The 32Gateway: a channel-licensed SIP bridge for a customer's ported legacy lines."""
