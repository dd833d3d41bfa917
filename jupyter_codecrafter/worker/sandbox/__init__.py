"""Sandbox backends: Docker containers and rlimited processes."""
