"""Huawei DataArts Fabric: service instances (fabric-ep) and inference endpoints (fabric)."""
