"""The command line: flag parsing, the table of known flags, the entry of every program."""
