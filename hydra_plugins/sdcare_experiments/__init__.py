"""Hydra plugin of sdcare-sim: the folders of ``experiments/`` as options of group ``experiment``.

See ``experiments.py``; Hydra finds the plugin by scanning the ``hydra_plugins`` namespace."""
