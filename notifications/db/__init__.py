"""Database plumbing the domain's writes share: hand-written SQL where the ORM is too slow."""
