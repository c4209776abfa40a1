"""The Hydra app: the only code that knows Hydra and OmegaConf. ``cli`` is the command; a
composed config is checked by ``config`` (without TensorFlow), carried out by ``tasks`` (train,
explain) and swept by ``sweep``."""
