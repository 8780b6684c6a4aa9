from flowfix.cli import entry

entry()
