"""The Hydra app: the only code that knows Hydra and OmegaConf. Configs are composed and
validated here (without TensorFlow), turned into library objects (``build``) and run (``run``)."""
