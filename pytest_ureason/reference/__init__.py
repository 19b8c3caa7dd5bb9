"""The embedded reference model, its judge and the solvers it reasons with."""
