"""Cloud API clients: one async httpx client per cloud. Nothing here knows Kubernetes."""
