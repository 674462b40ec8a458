"""The learned side of classification: the examples, the features, the shipped category model and its triage
policy (`category_model.npz`, `triage.toml`).

Serving (`features`, `model`) needs numpy only. Training and retraining are commands beside the entrypoints
(`python -m services.dispatch.train` / `retrain`) and need scikit-learn (the `learning` extra). Nothing here
imports the classifier: it uses the model, not the other way round.
"""
