"""See the package docstring of jimaku."""
