"""Statistics: arrays and columns in, numbers out.

The bottom layer: quantile sketches, label-free estimation, realized performance, the
multivariate (PCA) model, DeLong's test and the reading of a column as numbers or categories.
Nothing here reads files, talks to MLflow, or imports anything of mlflow-decay but its errors.
"""

#: The standard normal's 97.5% quantile: 95% two-sided bands and confidence intervals.
Z95 = 1.959963984540054
