"""The Huawei Cloud part of the emulator: what the API gateway in front of ModelArts, DataArts
Fabric and VIAS does (verifier.py: SDK-HMAC-SHA256 signatures and IAM tokens, answered with
the gateway's 401 `APIGW.0301`); one module per API beside it."""
