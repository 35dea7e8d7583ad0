"""A local, stateful emulator of the cloud APIs cloudinfer drives (like LocalStack or moto).

A product component: developers and users run the operator against it with no cloud account.
It keeps the real paths, field names, states and error shapes, verifies request signatures
with its own implementation, moves services through timed state transitions, and injects
faults on demand."""
