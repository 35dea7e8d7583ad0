"""Batch observation: one paged List per cloud account and region per interval feeds a cache
that every resource of that account reads, instead of one Get per resource per interval."""
