"""The issue resolver's pipeline: localize, repair, validate (in the sandbox), deliver."""
