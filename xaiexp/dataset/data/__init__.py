"""Ready datasets: ``from xaiexp.dataset.data import cifar10; train, eval = cifar10.load_data()``.

Each loader module declares its config schema as ``SCHEMAS`` (``dataset=<name>`` checks its keys
against it) and a TensorFlow-free ``inspect`` the pre-flight runs; ``xaiexp.app.config.components``
finds the modules here without a list."""
