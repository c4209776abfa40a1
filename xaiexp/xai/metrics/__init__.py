"""Explanation quality as numbers: localization against ground-truth masks
(``localization.py``), faithfulness to the model's scores (``faithfulness.py``, ``road.py``),
sensitivity to the model's weights (``randomization.py``) and integrated-gradient completeness
(``completeness.py``). Each metric the Saliency trace scores is declared in ``declared/``."""
