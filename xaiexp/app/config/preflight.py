"""Preflight: what a config points at (the dataset's file, the model's, the tracking store),
checked before TensorFlow is imported and before any MLflow run exists, so a wrong path or a
dead server costs a second and one line, not a failed run. Each owner knows its rules
(``dataset_checks``, ``model_checks``, ``xaiexp.tracking.store_checks``); this module runs them."""

import functools

from xaiexp.app.config.dataset_checks import check_dataset, dataset_source, dataset_summary
from xaiexp.app.config.model_checks import check_model_fits, check_saved_model
from xaiexp.app.config.validate import require
from xaiexp.tracking.store_checks import file_store_allowed, store_problem
from xaiexp.util.project import project_root


def check_resources(cfg):
    """What the config points at, checked without TensorFlow; raises ConfigError naming the key.

    - ``model.path``: a saved model's file is one Keras loads.
    - the dataset: a built-in loader's ``inspect`` makes every check its ``load_data`` makes
      (files exist and have the format), reading as little as it can; a user's loader is
      checked when it runs.
    - ``dataset.class_names`` and ``dataset.normalize``: match the dataset's classes and
      channels; the images are large enough for the model; a pretrained model's weights are
      where Keras keeps them (nothing is downloaded).
    - ``tracking.uri`` (when tracking is enabled): an http(s) server answers within seconds; a
      SQLite or file store's folder can be written.

    Each distinct dataset and tracking target is checked once per process (a sweep's jobs
    share them); a changed file is checked again.
    """
    check_saved_model(cfg.model)
    summary = dataset_summary(cfg.dataset)
    if summary is not None:
        check_dataset(cfg.dataset, summary)
        check_model_fits(cfg, summary.image_shape, dataset_source(cfg.dataset))
    if cfg.tracking.enabled:
        uri = cfg.tracking.uri or None
        _check_tracking(uri, None if uri else project_root(), file_store_allowed())


@functools.lru_cache(maxsize=16)
def _check_tracking(uri, root, allow_file_store):
    """``uri`` None: the embedded SQLite store under ``root``/outputs."""
    problem = store_problem(uri, root, allow_file_store)
    require(problem is None, "tracking.uri", problem)
