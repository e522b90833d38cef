"""Two runs' CKA tables side by side, in the statistics the README's reproducibility paragraph
uses: |difference| of layer/model and of filter CKA (median, 99th percentile, worst) and the
share of pairs defined in one run and NaN in the other.

    python tools/compare_cka.py RUN_A/results/cka.parquet RUN_B/results/cka.parquet
"""

import sys

import numpy as np
import pandas as pd

from ckaflow.similarity import is_filter
from ckaflow.stages.cka_table import PAIR_KEY

a, b = (pd.read_parquet(p) for p in sys.argv[1:3])
both = a.merge(b, on=PAIR_KEY, suffixes=("_a", "_b"), validate="one_to_one")
if len(both) != len(a) or len(both) != len(b):
    sys.exit(f"the tables hold different pairs: {len(a)}, {len(b)}, {len(both)} shared")
filters = both["a_group"].astype(str).map(is_filter).to_numpy()
print("| pairs | n | median |diff| | 99% under | worst | defined in one run only |")
print("|---|---|---|---|---|---|")
for label, pick in (("layers and models", ~filters), ("filters", filters)):
    x, y = both["cka_a"].to_numpy()[pick], both["cka_b"].to_numpy()[pick]
    one = np.isnan(x) != np.isnan(y)
    d = np.abs(x - y)[~np.isnan(x) & ~np.isnan(y)]
    stats = (np.median(d), np.quantile(d, 0.99), d.max()) if len(d) else (np.nan,) * 3
    print(f"| {label} | {pick.sum()} | {stats[0]:.1e} | {stats[1]:.1e} | {stats[2]:.1e} | "
          f"{one.mean():.1%} |")  # fmt: skip
