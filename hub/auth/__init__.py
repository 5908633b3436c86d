"""Login: users, password hashing, signed expiring tokens."""
