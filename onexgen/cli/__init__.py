"""The command line: ``main`` (``onexgen.cli.main``) and one module per command."""
