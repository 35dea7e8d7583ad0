"""External adapters: per (kind, cloud), the verbs observe/create/update/delete (Crossplane's
ExternalClient). They return plain data and know nothing of Kubernetes objects."""
