"""Environment families, one sub-package each (sim, env, vector, parallel, viewer)."""
