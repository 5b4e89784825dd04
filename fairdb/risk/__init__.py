"""The privacy blueprint `risk`: re-identification risk, generalisation, noisy summaries."""
