"""The web console's static server."""
