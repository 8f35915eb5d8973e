"""Channel generators (SPEC §3). Being written."""
