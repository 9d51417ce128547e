"""govcloud: one typed estate model driving stacks, roles, policies and DR drills."""

__version__ = "0.1.0"
