"""Ready datasets: ``from xaiexp.dataset.data import cifar10; train, eval = cifar10.load_data()``."""
