"""The domain: profiles, windows, drift, evaluations, policies and reports.

Built on :mod:`mlflow_decay.stats`; nothing here reads files of datasets, talks to MLflow or
knows about Spark: the engines and the registry above bring rows and store results.
"""
