"""The ``ordercmd`` command line."""
