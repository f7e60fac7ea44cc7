"""Live sources: async iterators of `Frame`s, one per protocol."""
