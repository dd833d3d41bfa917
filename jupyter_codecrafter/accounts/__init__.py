"""Accounts: passwords, tokens, and the account service."""
