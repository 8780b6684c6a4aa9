"""A small research assistant on PocketFlow and a Dynamiq-style node base (flowfix demo)."""
