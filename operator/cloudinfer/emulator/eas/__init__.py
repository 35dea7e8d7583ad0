"""The PAI-EAS (2021-07-01) part of the emulator."""
