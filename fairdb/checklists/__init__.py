"""MIxS checklists as data, and the rules that check sample metadata against them."""
