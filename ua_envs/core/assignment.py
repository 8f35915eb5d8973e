"""Association helpers. Being written."""
