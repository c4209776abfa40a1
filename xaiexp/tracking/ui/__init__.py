"""``xaiexp ui``: the MLflow UI for the project's store (``command``), and the links to its pages
that xaiexp prints (``links``)."""
