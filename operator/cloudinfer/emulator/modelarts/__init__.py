"""The Huawei Cloud ModelArts real-time services (API v1) part of the emulator."""
