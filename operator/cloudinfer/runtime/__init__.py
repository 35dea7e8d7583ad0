"""The controller runtime shared by every managed kind: one work queue keyed by (kind,
namespace, name), caches fed by watches so a reconcile makes no GET, resolution of provider
configs and credentials to accounts, and the generic reconciler run per key."""
