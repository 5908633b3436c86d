"""Who is who: districts, caretakers with their profiles, tenants and agents."""
