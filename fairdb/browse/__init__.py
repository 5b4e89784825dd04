"""The browse blueprint: datasets and their samples, as pages and downloads."""
