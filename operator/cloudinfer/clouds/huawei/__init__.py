"""Huawei Cloud: the SDK-HMAC-SHA256 signer and IAM-token headers (signer.py) and the
`{error_code, error_msg}` parser (errors.py) shared by ModelArts, DataArts Fabric and VIAS;
each API brings its own error table (modelarts_errors.py, fabric_errors.py)."""
