"""The state of the mock: plain Python, no HTTP. Imports nothing above it."""
