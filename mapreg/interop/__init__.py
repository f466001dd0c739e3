"""Interoperability: the MAP of a user's PyMC model, scikit-learn estimators."""
