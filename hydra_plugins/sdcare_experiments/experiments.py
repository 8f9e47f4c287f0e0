"""Each folder ``experiments/<name>/`` of this repository is option ``<name>`` of the Hydra
config group ``experiment``, read from ``experiments/<name>/config.yaml``.

Hydra resolves ``experiment=X`` to ``experiment/X.yaml`` under each entry of its search path,
which a folder per experiment cannot match with plain files.  Two small plugins bridge that:

* ``ExperimentsConfigSource`` (scheme ``experiments://<folder>``) serves
  ``<folder>/<name>/config.yaml`` as ``experiment/<name>.yaml`` (and nothing else);
* ``ExperimentsSearchPath`` appends ``experiments://<repo>/experiments`` to the search path of
  any Hydra app whose search path holds this repository's ``configs/`` folder (``python -m sim``,
  ``sim.config.compose``), and leaves every other Hydra app alone.

Both are found by Hydra's plugin scan of the ``hydra_plugins`` namespace package, in the
launching process and in launcher workers alike (joblib, Ray: they re-compose each job's config
from the repository pickled with the job, which holds an ``ExperimentsConfigSource``).  The
repository root is this file's grandparent's parent, so it works from any current directory
with the editable install (``pip install -e .``), like ``configs/`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin
from omegaconf import OmegaConf

GROUP = "experiment"
CONFIG = "config.yaml"
ROOT = Path(__file__).resolve().parents[2]


class ExperimentsConfigSource(ConfigSource):
    """``experiments://<folder>``: group ``experiment`` with one option per ``<folder>/<name>/``
    that holds a ``config.yaml``."""

    def __init__(self, provider: str, path: str) -> None:
        if "://" not in path:
            path = f"{self.scheme()}://{path}"
        super().__init__(provider=provider, path=path)

    @staticmethod
    def scheme() -> str:
        return "experiments"

    def _file(self, config_path: str) -> Path | None:
        """The file behind ``experiment/<name>[.yaml]``, or None for any other path."""
        group, _, name = self._normalize_file_name(config_path).strip("/").rpartition("/")
        name = name.removesuffix(".yaml")
        if group != GROUP or not name or name.startswith((".", "_")):
            return None
        return Path(self.path) / name / CONFIG

    def load_config(self, config_path: str) -> ConfigResult:
        f = self._file(config_path)
        if f is None or not f.is_file():
            raise ConfigLoadError(f"Config not found : {config_path} (experiments in {self.path})")
        text = f.read_text(encoding="utf-8")
        return ConfigResult(config=OmegaConf.create(text), path=f"{self.scheme()}://{self.path}",
                            provider=self.provider, header=ConfigSource._get_header_dict(text))

    def available(self) -> bool:
        return os.path.isdir(self.path)

    def is_group(self, config_path: str) -> bool:
        return config_path.strip("/") in ("", GROUP) and self.available()

    def is_config(self, config_path: str) -> bool:
        f = self._file(config_path)
        return f is not None and f.is_file()

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        path = config_path.strip("/")
        if path == "" and results_filter in (None, ObjectType.GROUP) and self.available():
            return [GROUP]
        if path != GROUP or results_filter == ObjectType.GROUP or not self.available():
            return []
        return sorted(d.name for d in Path(self.path).iterdir()
                      if not d.name.startswith((".", "_")) and (d / CONFIG).is_file())


def _realpath(entry: str) -> str | None:
    if not entry.startswith("file://") and "://" in entry:
        return None
    return os.path.realpath(entry.removeprefix("file://"))


class ExperimentsSearchPath(SearchPathPlugin):
    """Adds this repository's ``experiments/`` to the search path of apps using its ``configs/``."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        configs = os.path.realpath(ROOT / "configs")
        entries = search_path.get_path()
        if any(_realpath(e.path) == configs for e in entries if e.path) and \
                not any(e.path and e.path.startswith("experiments://") for e in entries):
            search_path.append("sdcare-experiments", f"experiments://{ROOT / 'experiments'}")
