"""A config file Hydra cannot compose, as one ConfigError naming the file: YAML that does not
parse (with its line) or is not UTF-8 text, and defaults lists that include one another without
end (Hydra follows them until Python's recursion limit: a 2,500-line traceback).

Hydra's exceptions do not name the file; the frames of its config loader in the exception's
traceback do (``FileConfigSource.load_config``'s ``full_path``, the ``root`` node and ``repo`` of
``defaults_list._create_defaults_tree_impl``)."""

from pathlib import Path

from xaiexp.util.errors import ConfigError

BAD_FILE_ERRORS = (UnicodeDecodeError, RecursionError)  # besides yaml.YAMLError


def config_file_error(error: BaseException) -> ConfigError | None:
    """``error`` (a ``yaml.YAMLError`` or one of BAD_FILE_ERRORS raised while Hydra composed a
    config) as one line naming the file; None when it did not come from a config file."""
    if isinstance(error, RecursionError):
        return _defaults_cycle(error)
    if isinstance(error, UnicodeDecodeError):
        path = _last_local(error, "load_config", "full_path")
        return ConfigError(path, f"not UTF-8 text ({error.reason} at byte {error.start})") if path else None
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else \
        _last_local(error, "load_config", "full_path") or "a config file"
    return ConfigError(where, f"not valid YAML: {getattr(error, 'problem', None) or error}")


def _defaults_cycle(error):
    """The config whose defaults list closes the loop, e.g. 'experiment/loop -> experiment/loop'."""
    path, repository = [], None
    for frame in _frames(error):
        if frame.f_code.co_name == "_create_defaults_tree_impl":
            node = getattr(frame.f_locals.get("root"), "node", None)
            if node is not None and not node.is_virtual():
                path.append(node.get_config_path())
                repository = frame.f_locals.get("repo")
    if not path or path.count(path[-1]) < 2:
        return None
    cycle = path[len(path) - 2 - path[-2::-1].index(path[-1]):-1]
    closer = cycle[-1]  # its defaults list leads back to cycle[0]
    shown = [closer, *cycle[:-1], closer]
    return ConfigError(_file_of(closer, repository),
                       f"its defaults list includes itself ({' -> '.join(shown)}); break the loop")


def _file_of(config_path, repository):
    """The YAML file ``config_path`` (e.g. experiment/loop) is read from, else its name."""
    found = repository.load_config(config_path) if repository is not None else None
    source = getattr(found, "path", None) or ""
    if source.startswith("file://"):
        return str(Path(source.removeprefix("file://"), f"{config_path}.yaml"))
    return config_path


def _last_local(error, function, name):
    """The value of local ``name`` in the innermost frame of ``function`` in ``error``'s traceback."""
    values = [frame.f_locals[name] for frame in _frames(error)
              if frame.f_code.co_name == function and name in frame.f_locals]
    return values[-1] if values else None


def _frames(error):
    traceback = error.__traceback__
    while traceback is not None:
        yield traceback.tb_frame
        traceback = traceback.tb_next
