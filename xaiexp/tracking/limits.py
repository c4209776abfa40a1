"""How long MLflow lets names and values be: config validation refuses a longer name before any
run exists, and a logged value is cut to fit."""

MAX_EXPERIMENT_NAME = 500  # mlflow.utils.validation.MAX_EXPERIMENT_NAME_LENGTH
MAX_RUN_NAME = 250  # MLflow's SQL stores keep a run's name in 250 characters
MAX_PARAM_VALUE = 6000  # characters of a param's value
MAX_TAG_VALUE = 8000  # characters of a tag's value
