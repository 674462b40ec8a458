"""The learned side of classification: features, the shipped category model, training and retraining.

Serving (`features`, `model`) needs numpy only; `train` and `retrain` need scikit-learn (the `learning` extra).
"""
