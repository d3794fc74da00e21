"""laws: loss-curve laws, the loss of a run predicted from its whole learning-rate curve.

- ``multipower``: ``MultiPowerLaw`` (Luo et al., 2025), a value with ``predict(lr, steps)``;
  ``sums``: the sums it reads off a curve, in blocks, one term per step where the rate changes;
- ``fitting``: ``fit(runs)``, the paper's objective, a grid then least squares (scipy);
- ``scores``: ``score(law, runs)``, the paper's test-set table (R2, MAE, RMSE, PredE, WorstE);
- ``optimize``: ``optimize(law, steps=, peak=, warmup=)``, the schedule it predicts to end lowest;
- ``pictures``: predicted curves beside logged losses, in a PNG (matplotlib).

Imports: ``schedalg.core``, ``.engine``, ``.algebra``, ``.curves``; scipy and matplotlib only
inside the functions that need them. Never ``schedalg.forms`` (a sibling layer).
"""
