"""Tags on cases: the stored taxonomy, rules, case tags and their history."""
