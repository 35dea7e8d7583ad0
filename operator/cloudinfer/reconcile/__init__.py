"""Reconcile decisions: pure functions from observed state to desired status and actions."""
