"""A local, stateful emulator of the cloud APIs cloudinfer drives (like LocalStack or moto).

A product component: developers and users run the operator against it with no cloud account.
It keeps the real paths, field names, states and error shapes, verifies request signatures
with its own implementation, keeps each account's services apart as the clouds do, moves
services through timed state transitions, and injects faults on demand.

Layout: pipeline.py is the request path every cloud shares (faults → signature check →
handler → call log); one package per cloud API (eas/, modelarts/) brings its store and
routes, with its vendor's dialect and verifier (eas/; huawei/ for every Huawei API); app.py
registers each with one line. Nothing here imports the operator's clients
(cloudinfer.clouds): client and emulator share no code, so neither can hide the other's bug."""
