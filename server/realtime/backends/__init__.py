"""How doorbells and presence travel between processes."""
