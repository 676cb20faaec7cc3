"""Working days, legal deadlines, document numbering, background work and the sweep scheduler."""
