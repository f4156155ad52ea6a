"""The SWE platform gateway."""
