"""The provider emulator: one HTTP server speaking all five hosted Aleph wire protocols."""
