"""ckaflow: where does a network change when it is adapted to a new domain?

The library behind the workflow: image domains (:mod:`ckaflow.data`), the similarity engine
(:mod:`ckaflow.similarity`) and the study's figures (:mod:`ckaflow.figures`).
"""

__version__ = "0.1.0"
