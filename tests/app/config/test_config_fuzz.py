"""Random overrides into ``compose_config``: a config or one of our config errors, never a crash,
and the error always describes itself in one non-empty line."""

from dataclasses import fields, is_dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xaiexp.app.cli import COMPOSITION_ERRORS, compose_config, config_dir, error_line
from xaiexp.app.config.schema import Config


def schema_keys(schema=Config, prefix=""):
    for item in fields(schema):
        key = prefix + item.name
        yield key
        node = item.default_factory() if callable(item.default_factory) else None
        if is_dataclass(node):
            yield from schema_keys(type(node), key + ".")


KEYS = sorted(schema_keys())
GROUPS = sorted(p.name for p in Path(config_dir()).iterdir() if p.is_dir())
SPECIAL = ["", "${", "${foo}", "${oc.env:XAIEXP_NO_SUCH_VARIABLE}", "${name}", "${hydra:job.name}",
           "[", "]", "[1,", "{", "{a:1}", "'", '"', "''", "=", ",", "1,2", "null", "true", "nan",
           "inf", "-inf", "1e400", "~", "\\", "a b", "é", "日本", "\u2028", "\x85", "\n", "\t",
           "range(1,3)", "choice(1,2)", "${now:%Y}", "${xaiexp_root:}", "???", "/", "/dev/null", ".", "eval/", "test/x",
           "http:", "sqlite://", "file:", "npz", "shapes", "lenet", "adam"]

ints = st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str)
floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
texts = st.text(max_size=12)
scalars = st.one_of(ints, floats, texts, st.sampled_from(SPECIAL))
lists = st.lists(scalars, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
values = st.one_of(scalars, lists)
typos = st.tuples(st.sampled_from(KEYS), texts).map("".join)  # schedule.init_lr + "r", ...
ODD_KEYS = ["hydra/launcher", "hydra/sweeper", "hydra.run.dir", "hydra.job.chdir", "dataset@x", "@", ""]
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(GROUPS), st.sampled_from(ODD_KEYS), texts, typos)
prefixes = st.sampled_from(["", "", "", "+", "++", "~"])


@st.composite
def overrides(draw):
    """``[prefix]key=value``, ``~key``, or any text at all."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.text(max_size=20))
    if kind == 1:
        return "~" + draw(keys)
    return draw(prefixes) + draw(keys) + "=" + draw(values)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(overrides(), min_size=1, max_size=3))
def test_random_overrides_compose_or_fail_with_one_line(home, arguments):
    try:
        compose_config(arguments)
    except COMPOSITION_ERRORS as error:
        message = error_line(error)
        assert isinstance(message, str) and message.strip()
        assert len(message.splitlines()) == 1, message
