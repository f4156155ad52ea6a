"""What each agent type does on a checkout (no database, no FastAPI: a run context in, a
result document out)."""
