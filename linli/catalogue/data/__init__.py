"""Seed data of the service catalogue: items, materials and the one-sentence search
vocabulary. Pure Python (no ORM) so the search benchmark can load it without a database."""
