"""The curate blueprint: editing a dataset's description, privacy, collaborators, deletion,
and its history."""
