"""One exception tree for everything thresher raises on purpose.

Every message names the thing at fault (a config key, an input file and line, an output folder) and,
where there is one, the fix. Third-party errors are translated at the boundary (``raise X(...) from exc``).

    ThresherError
    ├── ConfigError          invalid configuration: unknown key, bad value, unknown step
    ├── InputError           an input path is missing or unreadable as a whole
    ├── OutputError          the output folder holds a run of another config, or inputs changed
    └── PhaseError           a phase found the previous phase's manifest missing or different
"""

from __future__ import annotations


class ThresherError(Exception):
    """Base of every error thresher raises on purpose."""


class ConfigError(ThresherError, ValueError):
    """The configuration (TOML file, CLI options or keyword arguments) is invalid."""


class InputError(ThresherError):
    """An input path does not exist, matches nothing, or cannot be read at all."""


class OutputError(ThresherError):
    """The output folder cannot be used as asked (another config's run is there, inputs changed)."""


class PhaseError(ThresherError):
    """A phase's precondition, written in the previous phase's manifest, does not hold."""
