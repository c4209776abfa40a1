"""``xaiexp ui``: the MLflow UI for the project's store, and the links to its pages."""
