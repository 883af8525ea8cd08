"""The admin path: files -> records -> chunks -> an index generation, swapped in atomically."""
