"""Alibaba Cloud: the ACS3-HMAC-SHA256 signer and the `{RequestId, Code, Message}` error
parser shared by its APIs; one sub-package per API (eas/)."""
