"""The custom resource contract: pydantic models that generate the CRDs and parse objects."""

from cloudinfer.api.kinds import ALL_KINDS, GROUP, VERSION, KindInfo

__all__ = ["ALL_KINDS", "GROUP", "VERSION", "KindInfo"]
