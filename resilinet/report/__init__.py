"""Tables and figures from results files."""
