"""Foundation shared by every stage: config, run directory, atomic writes, logging, device."""
