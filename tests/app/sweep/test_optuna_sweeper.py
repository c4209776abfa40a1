"""The Optuna sweeper without TensorFlow: Hydra's grammar as Optuna distributions, storages by
URL, and the ask/tell loop over a stand-in launcher whose jobs are plain functions."""

import functools
import math
import multiprocessing
import os
from types import SimpleNamespace

import numpy
import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from xaiexp.app.sweep.pruning import PRUNED_TAG, TRIAL_TAG, PruningTrace
from xaiexp.app.sweep.search_space import search_space
from xaiexp.app.sweep.study_storage import check_study_storage
from xaiexp.app.sweep.study import IN_MEMORY, TRIAL_ENV, job_trial, open_storage, shown, storage_file
from xaiexp.app.sweep.optuna_sweeper import OptunaSweeper
from xaiexp.util.errors import ConfigError

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_hydra_sweep_grammar_becomes_optuna_distributions():
    swept, fixed = search_space([
        "lr=tag(log, interval(1e-4, 1e-2))", "dropout=interval(0, 0.5)", "width=range(1, 5)",
        "depth=range(2, 11, 3)", "down=range(5, 1, -2)", "scale=range(0.5, 1.5, 0.5)",
        "model=choice(lenet, cnn)", "batch_size=choice(32, 64)", "epochs=3", "epochs=4",
        "order=shuffle(range(1, 3))"])
    assert swept == {
        "lr": FloatDistribution(1e-4, 1e-2, log=True), "dropout": FloatDistribution(0.0, 0.5),
        "width": IntDistribution(1, 4), "depth": IntDistribution(2, 8, step=3),
        "down": IntDistribution(3, 5, step=2), "scale": CategoricalDistribution([0.5, 1.0]),
        "model": CategoricalDistribution(["lenet", "cnn"]),
        "batch_size": CategoricalDistribution([32, 64]), "order": swept["order"]}
    assert sorted(swept["order"].choices) == [1, 2]
    assert fixed == {"epochs": "4"}  # the later override wins (the command line after params)
    # the plain loop Hydra runs for a grid sweep gives the same values as the int distributions
    assert list(range(2, 11, 3)) == [2 + 3 * i for i in range(3)]


def test_a_command_line_value_fixes_a_key_the_preset_sweeps():
    swept, fixed = search_space(["batch_size=choice(32, 64)", "batch_size=128"])
    assert swept == {} and fixed == {"batch_size": "128"}


def test_storages_by_url_under_the_project_root(monkeypatch, tmp_path):
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    assert open_storage(None) is None and open_storage(" ") is None
    database = open_storage("sqlite:///outputs/optuna.db")
    assert isinstance(database, optuna.storages.RDBStorage)
    assert (tmp_path / "outputs" / "optuna.db").exists()
    journal = open_storage("outputs/optuna.journal")
    assert isinstance(journal, optuna.storages.JournalStorage)
    optuna.create_study(storage=journal, study_name="s")
    assert (tmp_path / "outputs" / "optuna.journal").stat().st_size > 0
    assert shown("postgresql://me:secret@db.lan/optuna") == "postgresql://me:***@db.lan/optuna"
    assert shown(None) == "in memory"


@pytest.mark.parametrize("url, relative", [
    ("sqlite:///outputs/optuna.db", "outputs/optuna.db"),
    ("sqlite:///outputs/optuna.db?timeout=30", "outputs/optuna.db"),
    ("sqlite+pysqlite:///outputs/optuna.db", "outputs/optuna.db"),
    ("sqlite:///file:outputs/optuna.db?uri=true", "outputs/optuna.db"),
    ("sqlite:///outputs/with%20space.db", "outputs/with space.db"),
    ("sqlite:///{tmp}/absolute.db?timeout=5", "absolute.db"),
])
def test_a_sqlite_storage_names_the_file_sqlalchemy_opens(url, relative, tmp_path, monkeypatch):
    """SQLAlchemy itself, run from the project root, creates the file storage_file names; and
    open_storage makes Optuna's tables in that file from any working directory."""
    import sqlalchemy

    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    url = url.replace("{tmp}", str(tmp_path))  # four slashes: an absolute path
    (tmp_path / "outputs").mkdir()
    monkeypatch.chdir(tmp_path)
    sqlalchemy.create_engine(url).connect().close()
    created = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert created == [tmp_path / relative] == [storage_file(url)]
    created[0].unlink()
    monkeypatch.chdir(tmp_path / "outputs")
    optuna.create_study(storage=open_storage(url), study_name="s")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == created


def test_in_memory_and_server_storages_name_no_file():
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql://me@db.lan/optuna"):
        assert storage_file(url) is None


def test_the_journal_check_refuses_what_optuna_cannot_replay(tmp_path, monkeypatch):
    """A journal with a line of garbage, even a torn last one: Optuna fails on it too (at once,
    or at its next record, which it appends to the torn line)."""
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    path = tmp_path / "optuna.journal"
    study = optuna.create_study(storage=open_storage(str(path)), study_name="s")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    good = path.read_bytes()
    check_study_storage(str(path))
    for bad in (good + b"garbage\n" + good.splitlines(keepends=True)[-1], good + b"{\"op_code\": 4, \"wor"):
        path.write_bytes(bad)
        line = len(good.splitlines()) + 1
        with pytest.raises(ConfigError, match=f"line {line} is no journal record"):
            check_study_storage(str(path))
        with pytest.raises(Exception):  # noqa: B017 - whichever error Optuna raises
            optuna.load_study(study_name="s", storage=open_storage(str(path))).optimize(
                lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)


class FunctionLauncher:
    """Hydra's launcher contract for jobs that are plain functions of their overrides (dict),
    each run with the environment its ``++hydra.job.env_set.*`` overrides set."""

    def __init__(self, job):
        self.job, self.launched = job, []

    def launch(self, job_overrides, initial_job_idx):
        returns = []
        for overrides in job_overrides:
            values = dict(o.split("=", 1) for o in overrides)
            env = {k.rpartition(".")[2]: v for k, v in values.items() if ".env_set." in k}
            self.launched.append(values)
            ret = JobReturn(overrides=overrides)
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                ret.return_value, ret.status = self.job(values), JobStatus.COMPLETED
            except Exception as error:
                ret.return_value, ret.status = error, JobStatus.FAILED
            finally:
                for key, value in old.items():
                    os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
            returns.append(ret)
        return returns


def sweeper(tmp_path, job, storage=None, n_trials=6, pruner=None, seed=0, **options):
    params = {"x": "interval(-1, 1)", "lr": "choice(1e-6, 1e-3, 1e-2, 3e-2)"}
    made = OptunaSweeper(sampler=functools.partial(optuna.samplers.TPESampler, seed=seed),
                         direction="maximize", storage=storage, study_name="study",
                         n_trials=n_trials, pruner=pruner, params=params, plots=False, **options)
    made.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "tracking": {"enabled": False},
                                    "x": 0.0, "lr": 1e-3})  # the keys it searches: a config has them
    made.launcher = FunctionLauncher(job)
    return made


def quadratic(values):
    return 1 - (float(values["x"]) - 0.25) ** 2


def load(storage):
    return optuna.load_study(study_name="study", storage=open_storage(storage))


def test_ask_tell_over_the_launcher_records_failures_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))

    def job(values):
        if float(values["lr"]) == 3e-2:
            raise FloatingPointError("loss is NaN")
        return math.nan if float(values["lr"]) == 1e-2 else quadratic(values)

    made = sweeper(tmp_path, job, storage="outputs/optuna.journal", n_trials=8, max_failure_rate=1.0)
    made.sweep(["extra=1"])
    study = load("outputs/optuna.journal")
    assert len(study.trials) == 8 and all("extra" in v and v["extra"] == "1" for v in made.launcher.launched)
    for trial in study.trials:
        bad = trial.params["lr"] in (1e-2, 3e-2)
        assert trial.state == (TrialState.FAIL if bad else TrialState.COMPLETE)
    assert {t.state for t in study.trials} == {TrialState.FAIL, TrialState.COMPLETE}
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert study.best_value == max(1 - (t.params["x"] - 0.25) ** 2 for t in complete)
    result = OmegaConf.load(tmp_path / "optimization_results.yaml")
    assert result.best_value == study.best_value and result.trials == 8


def test_too_many_failures_stop_the_sweep(tmp_path):
    def job(values):
        raise ValueError("broken")

    made = sweeper(tmp_path, job, n_trials=4, max_failure_rate=0.5)
    with pytest.raises(RuntimeError, match="3 of 4 trials failed .*max_failure_rate=0.5.*broken"):
        made.sweep([])
    assert len(made.launcher.launched) == 3


def test_a_batch_that_all_diverges_stops_the_sweep_with_the_finished_trials_answer(tmp_path):
    """Past max_failure_rate the study stops; a trial finished, so the sweep reports it rather
    than failing (its MLflow parent then ends FINISHED with that child as the best)."""
    def job(values):
        if len(made.launcher.launched) > 1:  # every trial after the first diverges
            raise FloatingPointError("loss is NaN")
        return quadratic(values)

    made = sweeper(tmp_path, job, n_trials=8, n_jobs=2, max_failure_rate=0.5)
    made.sweep([])
    assert len(made.launcher.launched) == 6  # rounds of 2: 1, 3, then 5 failures > 0.5 * 8
    result = OmegaConf.load(tmp_path / "optimization_results.yaml")
    assert result.best_value == quadratic(made.launcher.launched[0]) and result.trials == 6


def test_a_grid_launch_hands_back_failed_jobs_as_done_and_keeps_their_errors():
    """Hydra's grid loop re-raises a failed job's error: the wrapper logs it and keeps it."""
    from xaiexp.app.sweep.grid_sweeper import FailuresLogged

    def job(values):
        if values["lr"] == "1e6":
            raise FloatingPointError("loss is NaN")
        return 0.5

    launcher = FailuresLogged(FunctionLauncher(job))
    returns = launcher.launch([["lr=1e-3"], ["lr=1e6"]], initial_job_idx=0)
    assert [r.status for r in returns] == [JobStatus.COMPLETED, JobStatus.COMPLETED]
    assert [r.return_value for r in returns] == [0.5, None]
    assert [str(e) for e in launcher.errors] == ["loss is NaN"]


def test_the_seed_repeats_a_sweep_and_processes_sharing_a_study_draw_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    runs = []
    for _ in range(2):
        made = sweeper(tmp_path, quadratic, n_trials=3)
        made.sweep([])
        runs.append([v["x"] for v in made.launcher.launched])
    assert runs[0] == runs[1]
    # a second process on the same study: its trials 3..5 are seeded by their numbers
    for _ in range(2):
        sweeper(tmp_path, quadratic, storage="sqlite:///outputs/o.db", n_trials=3).sweep([])
    xs = [t.params["x"] for t in load("sqlite:///outputs/o.db").trials]
    assert len(xs) == 6 and len(set(xs)) == 6


def sweep_in_process(home, storage, n_trials):
    os.environ["XAIEXP_HOME"] = home
    made = sweeper(home, quadratic, storage=storage, n_trials=n_trials, seed=0)
    made.sweep([])


def test_two_processes_on_one_sqlite_study_run_each_trial_once(tmp_path):
    storage = "sqlite:///outputs/optuna.db"  # created by the processes, racing
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=sweep_in_process, args=(str(tmp_path), storage, 3)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    os.environ["XAIEXP_HOME"] = str(tmp_path)
    trials = load(storage).trials
    assert sorted(t.number for t in trials) == list(range(6))
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    assert len({t.params["x"] for t in trials}) == 6


def test_a_resumed_study_keeps_its_trials(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    storage = "outputs/optuna.journal"
    sweeper(tmp_path, quadratic, storage=storage, n_trials=2).sweep([])
    first = [(t.number, t.params, t.value) for t in load(storage).trials]

    def interrupted(values):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM during the job

    with pytest.raises(KeyboardInterrupt):
        sweeper(tmp_path, interrupted, storage=storage, n_trials=2).sweep([])
    sweeper(tmp_path, quadratic, storage=storage, n_trials=1).sweep([])
    trials = load(storage).trials
    assert [(t.number, t.params, t.value) for t in trials[:2]] == first
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL,
                                         TrialState.COMPLETE]


def epochs_of(accuracy_by_epoch, storage, tagged):
    """A job that trains len(accuracy_by_epoch) epochs through a PruningTrace, called as the
    Estimator calls it (its run's tags go to ``tagged``); returns the last epoch's accuracy."""
    trial = job_trial(storage, "study", optuna.pruners.MedianPruner(n_startup_trials=2))
    trace = PruningTrace(trial, "accuracy", tag=tagged.append)
    trace.system = SimpleNamespace(epoch_idx=0, total_epochs=len(accuracy_by_epoch))
    trace.on_begin({})
    for epoch, accuracy in enumerate(accuracy_by_epoch, start=1):
        trace.system.epoch_idx = epoch
        trace.on_epoch_end({"accuracy": accuracy})
    return accuracy_by_epoch[-1]


def test_the_median_pruner_stops_hopeless_trials_after_their_first_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("XAIEXP_HOME", str(tmp_path))
    storage, tagged = "sqlite:///outputs/optuna.db", []

    def job(values):  # a useful learning rate learns, a hopeless one stays at chance
        hopeless = float(values["lr"]) == 1e-6
        return epochs_of([0.2, 0.2, 0.2] if hopeless else [0.5, 0.7, 0.8], storage, tagged)

    made = sweeper(tmp_path, job, storage=storage, n_trials=10,
                   pruner=optuna.pruners.MedianPruner(n_startup_trials=2), seed=3)
    made.sweep([])
    trials = load(storage).trials
    finished_before = {t.number: sum(u.state == TrialState.COMPLETE for u in trials[:t.number]) for t in trials}
    late_hopeless = [t for t in trials if t.params["lr"] == 1e-6 and finished_before[t.number] >= 2]
    assert late_hopeless, "the seed must draw a hopeless rate after two finished trials"
    for trial in late_hopeless:
        assert trial.state == TrialState.PRUNED and list(trial.intermediate_values) == [1]
    pruned = [tags[PRUNED_TAG] for tags in tagged if PRUNED_TAG in tags]
    assert len(pruned) == sum(t.state == TrialState.PRUNED for t in trials)
    assert pruned[0] == "accuracy 0.2 at epoch 1"
    assert [tags[TRIAL_TAG] for tags in tagged if TRIAL_TAG in tags] == list(range(10))
    assert load(storage).best_trial.params["lr"] != 1e-6


def test_in_memory_studies_reach_jobs_in_the_sweepers_process(tmp_path, monkeypatch):
    made = sweeper(tmp_path, lambda v: epochs_of([0.5, 0.6], None, []), n_trials=2)
    made.sweep([])
    trials = IN_MEMORY["study"].trials
    assert [list(t.intermediate_values.values()) for t in trials] == [[0.5, 0.6], [0.5, 0.6]]
    monkeypatch.delenv(TRIAL_ENV, raising=False)
    assert job_trial(None, "study") is None  # not a trial: no trace


def test_the_preset_composes_to_the_sweeper_hydra_instantiates():
    from hydra import compose, initialize_config_dir
    from hydra.core.plugins import Plugins

    from xaiexp.app.cli import _setup, config_dir

    _setup()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("config", return_hydra_config=True, overrides=[
            "hparams_search=optuna", "hydra/sweeper/pruner=median", "objective.direction=minimize",
            "hydra.sweeper.storage=sqlite:///outputs/optuna.db", "seed=7"])
    made = Plugins.instance()._instantiate(cfg.hydra.sweeper).sweeper  # the plugin holds xaiexp's sweeper
    assert isinstance(made, OptunaSweeper) and made.direction == "minimize"
    assert made.storage == "sqlite:///outputs/optuna.db" and made.study_name == "xaiexp"
    assert isinstance(made.pruner, optuna.pruners.MedianPruner)
    draw = [optuna.create_study(sampler=s).ask().suggest_float("x", 0, 1)
            for s in (made.seeded_sampler(3), optuna.samplers.TPESampler(
                seed=int(numpy.random.SeedSequence([7, 3]).generate_state(1)[0])))]
    assert draw[0] == draw[1]  # trial 3 of seed 7
    assert set(made.params) == {"schedule.init_lr", "batch_size", "model.width"}
