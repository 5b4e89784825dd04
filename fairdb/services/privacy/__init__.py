"""Privacy measures of sample tables, such as the re-identification risk report."""
